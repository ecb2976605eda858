"""Records of sign-in attempts and the sessions they open, as written to the audit. Pure.

A sign-in does not wait for the database primary: its records are written after the answer when
the primary is away (core.agents.login_records). Until then they still count towards the sign-in
throttle, from memory."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from core.agents.domain.throttle import RecentFailures


@dataclass(frozen=True)
class SessionRecord:
    token_hash: bytes
    agent_id: str
    site: str  # where it was issued
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class LoginRecord:
    attempt: UUID  # written once however often the batch is retried
    agent_id: str
    home_site: str | None
    login_site: str
    outcome: str  # ok | bad_credentials | inactive | throttled
    client: str | None
    at: datetime
    session: SessionRecord | None = None

    @property
    def remote(self) -> bool:
        return self.home_site is not None and self.home_site != self.login_site

    @property
    def failed(self) -> bool:
        return self.outcome != "ok"


def _oldest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min((t for t in (a, b) if t is not None), default=None)


def with_unwritten(
    written: RecentFailures, unwritten: Iterable[LoginRecord], agent_id: str, client: str | None, since: datetime
) -> RecentFailures:
    """The failures the database holds plus those still waiting to be written, counted the same
    way (core.agents.store.repository.recent_failures): from this client, for this agent and for any."""
    # No client address counts nothing, as `client = NULL` matches nothing in SQL.
    from_client = [r for r in unwritten if r.failed and r.at >= since and client is not None and r.client == client]
    for_agent = [r for r in from_client if r.agent_id == agent_id]
    return RecentFailures(
        agent=written.agent + len(for_agent),
        agent_oldest=_oldest(written.agent_oldest, min((r.at for r in for_agent), default=None)),
        client=written.client + len(from_client),
        client_oldest=_oldest(written.client_oldest, min((r.at for r in from_client), default=None)),
    )
