"""SQL of the agent domain: accounts, sessions, the login audit, queues and the roster. Thin."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from core.agents.domain.logins import LoginRecord, SessionRecord
from core.agents.domain.model import Agent
from core.agents.domain.revocations import Revocations
from core.agents.domain.roster import Shift
from core.agents.domain.throttle import RecentFailures
from core.tickets.store.repository import Conn

AGENT_COLUMNS = "id, name, email, role, teams, regions, skills, home_site, active"


async def agent_with_hash(conn: Conn, agent_id: str) -> tuple[Agent, str] | None:
    cur = conn.cursor(row_factory=dict_row)
    row = await (
        await cur.execute(f"SELECT {AGENT_COLUMNS}, password_hash FROM agents WHERE id = %s", (agent_id,))
    ).fetchone()
    if row is None:
        return None
    password_hash = row.pop("password_hash")
    return Agent.model_validate(row), password_hash


# The statements the lab's demo seed (sync) shares with the service (async).
INSERT_AGENT = """INSERT INTO agents (id, name, email, password_hash, role, teams, regions, skills, home_site, active)
                  VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING"""
INSERT_SHIFT = """INSERT INTO duty_shifts (agent_id, team, region, level, kind, starts_at, ends_at, source)
                  VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"""


def agent_row(agent: Agent, password_hash: str) -> tuple[object, ...]:
    return (
        agent.id,
        agent.name,
        agent.email,
        password_hash,
        agent.role.value,
        list(agent.teams),
        list(agent.regions),
        list(agent.skills),
        agent.home_site,
        agent.active,
    )


def shift_row(s: Shift, source: str) -> tuple[object, ...]:
    return (s.agent_id, s.team.value, s.region.value, s.level.value, s.kind, s.starts_at, s.ends_at, source)


async def create_agent(conn: Conn, agent: Agent, password_hash: str) -> bool:
    cur = await conn.execute(INSERT_AGENT, agent_row(agent, password_hash))
    return cur.rowcount == 1


async def record_logins(conn: Conn, records: Sequence[LoginRecord]) -> None:
    """The audit of sign-in attempts and the sessions they opened; written again it changes nothing
    (a batch retried after an unanswered commit)."""
    async with conn.cursor() as cur:
        await cur.executemany(
            """INSERT INTO agent_logins (attempt, agent_id, home_site, login_site, remote, outcome, client, at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (attempt) DO NOTHING""",
            [(r.attempt, r.agent_id, r.home_site, r.login_site, r.remote, r.outcome, r.client, r.at) for r in records],
        )
        sessions = [r.session for r in records if r.session is not None]
        if sessions:
            await cur.executemany(
                """INSERT INTO agent_sessions (token_hash, agent_id, site, issued_at, expires_at)
                   VALUES (%s, %s, %s, %s, %s) ON CONFLICT (token_hash) DO NOTHING""",
                [(s.token_hash, s.agent_id, s.site, s.issued_at, s.expires_at) for s in sessions],
            )


async def recent_failures(conn: Conn, agent_id: str, client: str | None, since: datetime) -> RecentFailures:
    """Failed or refused sign-ins since `since`: for this agent ID from this client, and from this
    client for any agent (one agent ID from everywhere is not counted: anyone could then lock an
    engineer out of the desk by failing five times)."""
    row = await (
        await conn.execute(
            """SELECT count(*) FILTER (WHERE agent_id = %(agent)s), min(at) FILTER (WHERE agent_id = %(agent)s),
                      count(*), min(at)
               FROM agent_logins
               WHERE outcome <> 'ok' AND at >= %(since)s AND client = %(client)s""",
            {"agent": agent_id, "client": client, "since": since},
        )
    ).fetchone()
    assert row is not None  # an aggregate always returns one row
    return RecentFailures(int(row[0]), row[1], int(row[2]), row[3])


async def revocations(conn: Conn) -> Revocations:
    """The revocations in force (at any node: a standby's copy is what the primary committed)."""
    rows = await (
        await conn.execute("SELECT token_hash FROM agent_sessions WHERE revoked_at IS NOT NULL AND expires_at > now()")
    ).fetchall()
    agents = await (
        await conn.execute(
            "SELECT id, active, sessions_not_before FROM agents WHERE NOT active OR sessions_not_before IS NOT NULL"
        )
    ).fetchall()
    now_row = await (await conn.execute("SELECT now()")).fetchone()
    assert now_row is not None
    return Revocations(
        read_at=now_row[0],
        tokens=frozenset(bytes(r[0]) for r in rows),
        not_before={a: cutoff for a, active, cutoff in agents if active and cutoff is not None},
        disabled=frozenset(a for a, active, _ in agents if not active),
    )


async def revoke_token(conn: Conn, *, by: str, record: SessionRecord) -> None:
    """End one session; recorded even if its sign-in has not been written yet (primary was away)."""
    await conn.execute(
        """INSERT INTO agent_sessions (token_hash, agent_id, site, issued_at, expires_at, revoked_at, revoked_by)
           VALUES (%s, %s, %s, %s, %s, now(), %s)
           ON CONFLICT (token_hash) DO UPDATE
           SET revoked_at = coalesce(agent_sessions.revoked_at, now()),
               revoked_by = coalesce(agent_sessions.revoked_by, EXCLUDED.revoked_by)""",
        (record.token_hash, record.agent_id, record.site, record.issued_at, record.expires_at, by),
    )


async def revoke_agent(conn: Conn, *, by: str, agent_id: str) -> tuple[int, datetime]:
    """End every session of an agent, including any not recorded yet: how many were known, and the
    moment before which every token of the agent is void."""
    row = await (
        await conn.execute(
            "UPDATE agents SET sessions_not_before = now() WHERE id = %s RETURNING sessions_not_before", (agent_id,)
        )
    ).fetchone()
    assert row is not None  # the caller checked the agent exists, in the same transaction
    cur = await conn.execute(
        """UPDATE agent_sessions SET revoked_at = now(), revoked_by = %s
           WHERE agent_id = %s AND revoked_at IS NULL AND expires_at > now()""",
        (by, agent_id),
    )
    return cur.rowcount, row[0]


async def logins(conn: Conn, agent_id: str, limit: int) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    return await (
        await cur.execute(
            """SELECT agent_id, home_site, login_site, remote, outcome, client, at FROM agent_logins
               WHERE agent_id = %s ORDER BY at DESC, id DESC LIMIT %s""",
            (agent_id, limit),
        )
    ).fetchall()


async def replace_shifts(conn: Conn, shifts: Sequence[Shift], source: str) -> tuple[int, int]:
    """Replace the roster inside the imported window [first start, last end); returns (removed, added)."""
    if not shifts:
        return 0, 0
    start, end = min(s.starts_at for s in shifts), max(s.ends_at for s in shifts)
    removed = await conn.execute("DELETE FROM duty_shifts WHERE starts_at >= %s AND starts_at < %s", (start, end))
    async with conn.cursor() as cur:
        await cur.executemany(INSERT_SHIFT, [shift_row(s, source) for s in shifts])
    return removed.rowcount, len(shifts)


async def unknown_agents(conn: Conn, ids: Sequence[str]) -> list[str]:
    rows = await (await conn.execute("SELECT id FROM agents WHERE id = ANY(%s)", (list(set(ids)),))).fetchall()
    known = {r[0] for r in rows}
    return sorted(set(ids) - known)


async def shifts_at(conn: Conn, at: datetime) -> list[Shift]:
    cur = conn.cursor(row_factory=dict_row)
    rows = await (
        await cur.execute(
            """SELECT agent_id, team, region, level, kind, starts_at, ends_at FROM duty_shifts
               WHERE starts_at <= %s AND ends_at > %s ORDER BY starts_at, agent_id""",
            (at, at),
        )
    ).fetchall()
    return [Shift.model_validate(r) for r in rows]
