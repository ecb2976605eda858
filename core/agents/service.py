"""Agent operations: log in (at either site), authenticate a token, log out, revoke, presence,
the agent's queue, accounts and the roster."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from core.agents.domain.credentials import hash_password, verify_password
from core.agents.domain.logins import LoginRecord, SessionRecord, with_unwritten
from core.agents.domain.model import Agent, Permission, Session, allowed, may_grant
from core.agents.domain.presence import Presence, PresenceUnavailable, Status
from core.agents.domain.roster import RosterError, Shift, parse_roster_csv, parse_roster_ics
from core.agents.domain.throttle import LoginLimits, retry_after_s
from core.agents.domain.tokens import Issued, token_hash
from core.agents.login_records import LoginRecorder
from core.agents.sessions import SessionCheck
from core.agents.store import repository as repo
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyRequests, Unauthenticated, Unavailable

PRESENCE_RETRY_AFTER_S = 2
SIGN_IN_RETRY_AFTER_S = 2
LOGOUT_WAIT_S = 3  # for a connection to the primary


@dataclass(frozen=True)
class Login:
    token: str
    session: Session
    remote: bool  # logged in away from the agent's home site


@dataclass
class AgentService:
    pool: AsyncConnectionPool[Any]  # the primary (read-write)
    reads: AsyncConnectionPool[Any]  # any node, this site's first: sign-in works while the primary moves
    site: str
    session_ttl: timedelta
    presence: Presence
    limits: LoginLimits
    sessions: SessionCheck
    recorder: LoginRecorder
    record_wait_s: float  # how long a sign-in waits for its audit record to commit

    async def login(self, agent_id: str, password: str, client: str | None) -> Login:
        """Sign in with no need for the database primary: the account and recent failures are read
        at any node, the token is signed here, and the audit is written when the primary can take it."""
        now = datetime.now(UTC)
        try:
            async with self.reads.connection() as conn:
                written = await repo.recent_failures(conn, agent_id, client, now - self.limits.window)
                found = await repo.agent_with_hash(conn, agent_id)
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise Unavailable(f"no database node answers: {type(exc).__name__}", SIGN_IN_RETRY_AFTER_S) from None
        failures = with_unwritten(written, self.recorder.unwritten, agent_id, client, now - self.limits.window)
        wait = retry_after_s(failures, self.limits, now)
        if wait is not None:  # refused before the password is even looked at; audited all the same
            await self._audit(agent_id, None, "throttled", client, now)
            raise TooManyRequests(f"too many failed sign-ins; try again in {wait} s", wait)
        agent = found[0] if found else None
        # argon2 takes tens of milliseconds of CPU by design: off the event loop, holding no
        # database connection (a burst of sign-ins after a site loss must not starve either).
        ok = await asyncio.to_thread(verify_password, found[1] if found else None, password)
        outcome = "bad_credentials" if not ok or agent is None else ("ok" if agent.active else "inactive")
        issued = None
        if outcome == "ok" and agent is not None:
            issued = self.sessions.tokens.issue(agent, self.site, now, self.session_ttl)
        await self._audit(agent_id, agent.home_site if agent else None, outcome, client, now, issued)
        # Refused after the audit: failed attempts are recorded. One answer for an unknown agent and
        # a wrong password, so the API cannot be used to probe for accounts.
        if outcome == "inactive":
            raise Unauthenticated("this account is disabled")
        if issued is None or agent is None:
            raise Unauthenticated("unknown agent or wrong password")
        with contextlib.suppress(PresenceUnavailable):  # the board restores presence when it can
            await self.presence.set(agent.id, Status.AVAILABLE)
        return Login(issued.token, issued.session, remote=agent.home_site != self.site)

    async def _audit(
        self,
        agent_id: str,
        home_site: str | None,
        outcome: str,
        client: str | None,
        at: datetime,
        issued: Issued | None = None,
    ) -> None:
        session = None
        if issued is not None:
            s = issued.session
            session = SessionRecord(token_hash(issued.token), s.agent.id, s.site, s.issued_at, s.expires_at)
        record = LoginRecord(uuid4(), agent_id, home_site, self.site, outcome, client, at, session)
        await self.recorder.record(record, self.record_wait_s)

    async def authenticate(self, token: str | None) -> Session:
        return self.sessions.session(token)

    async def logout(self, token: str, session: Session) -> None:
        record = SessionRecord(token_hash(token), session.agent.id, session.site, session.issued_at, session.expires_at)
        # A logout needs the primary; while it is away, say so at once (the token expires anyway).
        async with self.pool.connection(timeout=LOGOUT_WAIT_S) as conn:
            await repo.revoke_token(conn, by=session.agent.id, record=record)
        self.sessions.revocations.include(token=record.token_hash)
        with contextlib.suppress(PresenceUnavailable):
            await self.presence.clear(session.agent.id)

    async def revoke_all(self, agent_id: str, by: Session) -> int:
        require(by, Permission.MANAGE_AGENTS)
        async with self.pool.connection() as conn, conn.transaction():
            if await repo.agent_with_hash(conn, agent_id) is None:
                raise NotFound(f"no agent {agent_id}")
            known, cutoff = await repo.revoke_agent(conn, by=by.agent.id, agent_id=agent_id)
        self.sessions.revocations.include(agent_cutoff=(agent_id, cutoff))
        return known

    async def create(self, agent: Agent, password: str, by: Session) -> Agent:
        require(by, Permission.MANAGE_AGENTS)
        if not may_grant(by.agent.role, agent.role):
            raise Forbidden(
                f"a {by.agent.role} cannot create a {agent.role} account: it would hold more than its creator"
            )
        hashed = await asyncio.to_thread(hash_password, password)  # argon2: off the event loop
        async with self.pool.connection() as conn:
            if not await repo.create_agent(conn, agent, hashed):
                raise Conflict(f"agent {agent.id} exists")
        return agent

    async def set_presence(self, session: Session, status: Status) -> dict[str, Any]:
        try:
            return await self.presence.set(session.agent.id, status)
        except PresenceUnavailable as exc:
            raise Unavailable(f"presence is not reachable: {exc}", PRESENCE_RETRY_AFTER_S) from None

    async def everyone_present(self) -> list[dict[str, Any]]:
        try:
            return await self.presence.everyone()
        except PresenceUnavailable as exc:
            raise Unavailable(f"presence is not reachable: {exc}", PRESENCE_RETRY_AFTER_S) from None

    async def logins(self, agent_id: str, session: Session, limit: int) -> list[dict[str, Any]]:
        if agent_id != session.agent.id:
            require(session, Permission.MANAGE_AGENTS)
        async with self.pool.connection() as conn:
            return await repo.logins(conn, agent_id, limit)

    async def import_roster(
        self, body: bytes, media_type: str, by: Session, window: tuple[datetime, datetime] | None
    ) -> tuple[int, int]:
        require(by, Permission.MANAGE_ROSTER)
        shifts = parse_roster(body, media_type, window)
        async with self.pool.connection() as conn, conn.transaction():
            unknown = await repo.unknown_agents(conn, [s.agent_id for s in shifts])
            if unknown:
                raise InvalidInput(f"roster names unknown agents: {', '.join(unknown)}")
            return await repo.replace_shifts(conn, shifts, f"{media_type} by {by.agent.id}")

    async def on_duty(self, at: datetime) -> list[Shift]:
        async with self.pool.connection() as conn:
            return await repo.shifts_at(conn, at)


def require(session: Session, permission: Permission) -> None:
    if not allowed(session.agent.role, permission):
        raise Forbidden(f"{session.agent.role} may not {permission.value.replace('_', ' ')}")


def acting_as(session: Session, permission: Permission) -> str:
    """The agent id a write is recorded under, once the session may do it (403 otherwise)."""
    require(session, permission)
    return session.agent.id


def parse_roster(body: bytes, media_type: str, window: tuple[datetime, datetime] | None) -> Sequence[Shift]:
    try:
        if media_type == "text/csv":
            return parse_roster_csv(body.decode("utf-8-sig"))
        if media_type == "text/calendar":
            if window is None:
                raise InvalidInput("an iCalendar roster needs ?from=...&to=... (the window to expand it in)")
            return parse_roster_ics(body, window_start=window[0], window_end=window[1])
    except UnicodeDecodeError:
        raise InvalidInput("the roster is not UTF-8 text", malformed=True) from None
    except RosterError as exc:
        raise InvalidInput(f"roster: {exc}") from None
    raise InvalidInput(f"unsupported roster type {media_type!r}: send text/csv or text/calendar")
