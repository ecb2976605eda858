"""The step-aside rule: only the side cut off from a live peer that holds the primary steps aside."""

from __future__ import annotations

from dataclasses import replace

import pytest

from failover.cutoff import Hysteresis, Posture, SiteView, cut_off, record_posture

FRESH_S = 5.0
AFTER_S = 1.0
PARTITIONED_MINORITY = SiteView(
    zookeeper_connected=True,
    peer_unreachable_s=AFTER_S,
    peer_heard_s=1.0,
    peer_reaches_us=False,
    peer_holds_primary=True,
    local_primary=False,
)


def test_the_side_without_the_primary_steps_aside_in_a_partition() -> None:
    assert cut_off(PARTITIONED_MINORITY, FRESH_S, AFTER_S) is not None


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"local_primary": True, "peer_holds_primary": False}, "the primary's side stays"),
        ({"peer_unreachable_s": None}, "in touch"),
        ({"peer_unreachable_s": AFTER_S - 0.1}, "a link down for less than the hold is a blip"),
        ({"zookeeper_connected": False}, "alone: Kafka and Patroni fence it already"),
        ({"peer_heard_s": None}, "a peer never heard of may be dead"),
        ({"peer_reaches_us": True}, "its record predates the cut: it may have died or been isolated since"),
        ({"peer_reaches_us": None}, "a peer that does not say is not proof of a partition"),
        ({"peer_heard_s": FRESH_S + 0.1}, "a silent peer is a lost site: the survivor rides it out"),
        ({"peer_holds_primary": False}, "no primary yet: a failover under way"),
    ],
)
def test_it_stays(change: dict[str, object], why: str) -> None:
    assert cut_off(replace(PARTITIONED_MINORITY, **change), FRESH_S, AFTER_S) is None, why  # type: ignore[arg-type]


def test_steps_aside_at_once_when_the_rule_says_so() -> None:
    """The rule holds against a flapping link itself (our probes failing for after_s): the peer's
    word, which comes seconds after the cut, must not start another hold."""
    h = Hysteresis(rejoin_after_s=10)
    assert h.observe(None, 0.0) is Posture.SERVING
    assert h.observe("cut", 0.5) is Posture.STEPPED_ASIDE


def test_serves_again_only_after_the_rejoin_hold_without_a_relapse() -> None:
    h = Hysteresis(rejoin_after_s=10)
    h.observe("cut", 2.0)
    assert h.observe(None, 3.0) is Posture.STEPPED_ASIDE
    assert h.observe("cut", 8.0) is Posture.STEPPED_ASIDE  # the link flapped: the rejoin hold starts again
    assert h.observe(None, 9.0) is Posture.STEPPED_ASIDE
    assert h.observe(None, 18.9) is Posture.STEPPED_ASIDE
    assert h.observe(None, 19.0) is Posture.SERVING


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"posture": "stepped aside", "posture_reason": "why"}, (Posture.STEPPED_ASIDE, "why")),
        ({"posture": "serving", "posture_reason": None}, (Posture.SERVING, None)),
        ({"posture": "stepped aside: why"}, (Posture.STEPPED_ASIDE, "why")),  # an agent before the two fields
        ({"posture": "stepped aside (something else)"}, (None, None)),
        ({}, (None, None)),
        (None, (None, None)),
    ],
)
def test_a_records_posture(record: dict[str, object] | None, expected: tuple[Posture | None, str | None]) -> None:
    assert record_posture(record) == expected
