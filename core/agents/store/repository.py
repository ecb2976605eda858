"""SQL of the agent domain: accounts, sessions, the login audit, queues and the roster. Thin."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from core.agents.domain.model import Agent, Session
from core.agents.domain.roster import Shift
from core.agents.domain.throttle import RecentFailures
from core.tickets.store.repository import Conn

AGENT_COLUMNS = "id, name, email, role, teams, regions, skills, home_site, active"
_AGENT_COLUMNS_OF_A = ", ".join(f"a.{c.strip()}" for c in AGENT_COLUMNS.split(","))


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


async def audit_login(
    conn: Conn, agent_id: str, home_site: str | None, login_site: str, outcome: str, client: str | None
) -> None:
    await conn.execute(
        """INSERT INTO agent_logins (agent_id, home_site, login_site, remote, outcome, client)
           VALUES (%s, %s, %s, %s, %s, %s)""",
        (agent_id, home_site, login_site, home_site is not None and home_site != login_site, outcome, client),
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


async def insert_session(conn: Conn, token_hash: bytes, agent_id: str, site: str, expires_at: datetime) -> datetime:
    row = await (
        await conn.execute(
            """INSERT INTO agent_sessions (token_hash, agent_id, site, expires_at) VALUES (%s, %s, %s, %s)
               RETURNING issued_at""",
            (token_hash, agent_id, site, expires_at),
        )
    ).fetchone()
    assert row is not None
    return row[0]


async def live_session(conn: Conn, token_hash: bytes) -> Session | None:
    cur = conn.cursor(row_factory=dict_row)
    row = await (
        await cur.execute(
            f"""SELECT s.site, s.issued_at, s.expires_at, {_AGENT_COLUMNS_OF_A}
                FROM agent_sessions s JOIN agents a ON a.id = s.agent_id
                WHERE s.token_hash = %s AND s.revoked_at IS NULL AND s.expires_at > now() AND a.active""",
            (token_hash,),
        )
    ).fetchone()
    if row is None:
        return None
    site, issued, expires = row.pop("site"), row.pop("issued_at"), row.pop("expires_at")
    return Session(agent=Agent.model_validate(row), site=site, issued_at=issued, expires_at=expires)


async def revoke(conn: Conn, *, by: str, token_hash: bytes | None = None, agent_id: str | None = None) -> int:
    """Revoke one session (by token) or every live session of an agent; returns how many."""
    where, arg = ("token_hash = %s", token_hash) if token_hash is not None else ("agent_id = %s", agent_id)
    cur = await conn.execute(
        f"UPDATE agent_sessions SET revoked_at = now(), revoked_by = %s WHERE {where} AND revoked_at IS NULL",
        (by, arg),
    )
    return cur.rowcount


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
