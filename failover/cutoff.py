"""When a data site is cut off and must step aside: the pure rule and its hysteresis.

A partition between the data sites that leaves both in touch with the witness moves nothing by
itself: ZooKeeper keeps its quorum through the witness, Patroni keeps its primary on one side,
Kafka keeps leaders on both. The side without the primary then takes intakes it cannot turn into
tickets and holds partition leaders the other side cannot write to. So that side steps aside:
it stops serving (and its Kafka broker hands its leaders over) until it is back in touch.

Only a peer that is *alive* may make a site step aside: a dead or isolated peer must not, or the
survivor would take itself down while Patroni promotes it. The witness tells them apart: an alive
peer keeps refreshing its registry record in ZooKeeper, which this site reads through the witness
even when it cannot reach the peer itself. Freshness alone is not proof: a record refreshed just
before a site died or was isolated looks fresh for a while (the first version of this rule took
that for life, and the survivor of `isolate-a` stepped aside). So each site's record also says
whether it reaches the other; a fresh record of the peer saying it cannot reach us was written
after the cut, by a peer that is alive and in touch with the quorum.

The hold against a flapping link counts from our own first failed probe, not from the peer's
word: that word comes only after the peer's next heartbeat (and, when its ZooKeeper server was on
the other side of the cut, after its session moved to another server, ~2-3 s). Timing the hold
from it stepped aside 5.8 s after the cut in `partition-a-b`, and intake stalled until then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Posture(StrEnum):
    SERVING = "serving"
    STEPPED_ASIDE = "stepped aside"


def record_posture(record: Mapping[str, Any] | None) -> tuple[Posture | None, str | None]:
    """A site's posture and why, from its registry record (None: the record does not say). Reads
    the record's two fields, and the one text ("stepped aside: why") of agents before them, which
    a rolling upgrade may still meet."""
    text = str((record or {}).get("posture") or "")
    posture, _, legacy_reason = text.partition(": ")
    if posture not in {p.value for p in Posture}:
        return None, None
    reason = (record or {}).get("posture_reason") or legacy_reason or None
    return Posture(posture), str(reason) if reason else None


@dataclass(frozen=True)
class SiteView:
    """One observation, made by a data site's failover agent."""

    zookeeper_connected: bool  # our session is alive: we hear the quorum (through the witness if need be)
    peer_unreachable_s: float | None  # since our probes of the other data site began to fail (None: it answers)
    peer_heard_s: float | None  # since the peer's registry record last changed (None: never seen to)
    peer_reaches_us: bool | None  # what that record says (None: it does not say)
    peer_holds_primary: bool  # the peer's own record says its PostgreSQL is the primary
    local_primary: bool  # our PostgreSQL is the primary


def cut_off(view: SiteView, peer_fresh_s: float, after_s: float) -> str | None:
    """Why this site should step aside now, or None. The primary's side always stays; a link
    down for less than `after_s` (every probe in that time failed) is a blip, not a cut."""
    if not view.zookeeper_connected or view.local_primary:
        return None  # alone (Kafka and Patroni fence us already), or the side that must stay
    if view.peer_unreachable_s is None or view.peer_unreachable_s < after_s:
        return None  # in touch, or not out of touch for long enough
    if view.peer_reaches_us is not False or view.peer_heard_s is None or view.peer_heard_s > peer_fresh_s:
        return None  # no word from the peer since the cut: it may be dead or alone, a site loss
    if not view.peer_holds_primary:
        return None  # no primary anywhere yet (a failover under way): nobody to make way for
    return "the other data site is alive and holds the primary, but we cannot reach it"


@dataclass
class Hysteresis:
    """Step aside as soon as the rule says so (it holds against a flapping link itself, see
    `cut_off`), but serve again only after `rejoin_after_s` in touch: a link that comes and goes
    must not flap the site in and out of the front door."""

    rejoin_after_s: float
    posture: Posture = Posture.SERVING
    _since: float | None = None  # when the rule began to let us serve again

    def observe(self, reason: str | None, now: float) -> Posture:
        if reason:
            self.posture, self._since = Posture.STEPPED_ASIDE, None
        elif self.posture is Posture.STEPPED_ASIDE:
            if self._since is None:
                self._since = now
            if now - self._since >= self.rejoin_after_s:
                self.posture, self._since = Posture.SERVING, None
        return self.posture
