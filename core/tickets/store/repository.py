"""SQL of the ticket domain (psycopg 3, async). Thin: no decisions, only reads and writes.

Every function takes an open connection; callers own the transaction, so one intake or one
API write is exactly one commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from core.domain.verification import AssetRef, ContractRef, CustomerRef
from core.tickets.domain.batch import IntakeRow
from core.tickets.domain.model import EventDraft, SlaClock, Ticket, TicketEvent

Conn = AsyncConnection[Any]
MUTABLE_COLUMNS = frozenset(
    {
        "root_cause",
        "actions_taken",
        "csat_score",
        "csat_comment",
        "level_since",
        "support_level",
        "assignee",
        "assigned_at",
    }
)

TICKET_COLUMNS = """
    code, intake_id, channel, status, priority, impact, urgency, team, region, customer_id,
    contract_number, asset_serial, verification, subject, description, contact, received_site,
    receiver, event_time, received_at, created_at, updated_at, sla, sla_pauses, response_due,
    response_warn_at, resolution_due, resolution_warn_at, responded_at, resolved_at, closed_at,
    alert_fingerprint, root_cause, actions_taken, csat_score, csat_comment, support_level, level_since,
    escalation, emergency_at, assignee, assigned_at, version
"""


def row_to_ticket(row: dict[str, Any]) -> Ticket:
    clock = SlaClock.model_validate(
        {
            "snapshot": row["sla"],
            "pauses": row["sla_pauses"],
            **{
                k: row[k]
                for k in (
                    "response_due",
                    "response_warn_at",
                    "resolution_due",
                    "resolution_warn_at",
                    "responded_at",
                    "resolved_at",
                    "closed_at",
                )
            },
        }
    )
    fields = {k: v for k, v in row.items() if k not in SlaClock.model_fields and k not in ("sla", "sla_pauses")}
    return Ticket.model_validate({**fields, "clock": clock})


# -- reference data ----------------------------------------------------------------------
async def lookup_reference(
    conn: Conn, customer_id: str | None, contract_number: str | None, asset_serial: str | None
) -> tuple[CustomerRef | None, ContractRef | None, AssetRef | None]:
    """The asset first: a serial alone is enough to find its contract and customer."""
    cur = conn.cursor(row_factory=dict_row)
    asset = None
    if asset_serial:
        row = await (await cur.execute("SELECT * FROM assets WHERE serial = %s", (asset_serial,))).fetchone()
        asset = AssetRef.model_validate(row) if row else None
    number = contract_number or (asset.contract_number if asset else None)
    contract = None
    if number:
        row = await (await cur.execute("SELECT * FROM contracts WHERE number = %s", (number,))).fetchone()
        contract = ContractRef.model_validate(row) if row else None
    cid = customer_id or (contract.customer_id if contract else None) or (asset.customer_id if asset else None)
    customer = None
    if cid:
        row = await (await cur.execute("SELECT * FROM customers WHERE id = %s", (cid,))).fetchone()
        customer = CustomerRef.model_validate(row) if row else None
    return customer, contract, asset


# -- intake ledger -----------------------------------------------------------------------
async def intake_seen(conn: Conn, intake_id: UUID) -> bool:
    cur = await conn.execute("SELECT 1 FROM intakes WHERE intake_id = %s", (intake_id,))
    return await cur.fetchone() is not None


async def record_intake(conn: Conn, row: IntakeRow) -> None:
    await conn.execute(
        """INSERT INTO intakes (intake_id, ticket_code, channel, kind, outcome, received_site, received_at,
                                kafka_partition, kafka_offset)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        astuple(row),
    )


# -- tickets -----------------------------------------------------------------------------
async def insert_ticket(conn: Conn, ticket: Ticket, events: Sequence[EventDraft]) -> None:
    c = ticket.clock
    await conn.execute(
        """INSERT INTO tickets (code, intake_id, channel, status, priority, impact, urgency, team, region,
               customer_id, contract_number, asset_serial, verification, subject, description, contact,
               received_site, receiver, event_time, received_at, sla, sla_pauses, response_due,
               response_warn_at, resolution_due, resolution_warn_at, alert_fingerprint, escalation, version)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                   %s, %s, %s, %s, %s, %s, 0)""",
        (
            ticket.code,
            ticket.intake_id,
            ticket.channel,
            ticket.status.value,
            ticket.priority.value,
            ticket.impact,
            ticket.urgency,
            ticket.team,
            ticket.region,
            ticket.customer_id,
            ticket.contract_number,
            ticket.asset_serial,
            Jsonb(ticket.verification.model_dump(mode="json")),
            ticket.subject,
            ticket.description,
            Jsonb(ticket.contact.model_dump(mode="json")),
            ticket.received_site,
            ticket.receiver,
            ticket.event_time,
            ticket.received_at,
            Jsonb(c.snapshot.model_dump(mode="json")),
            Jsonb([p.model_dump(mode="json") for p in c.pauses]),
            c.response_due,
            c.response_warn_at,
            c.resolution_due,
            c.resolution_warn_at,
            ticket.alert_fingerprint,
            Jsonb(ticket.escalation.model_dump(mode="json")),
        ),
    )
    await append_events(conn, ticket.code, events, ticket.intake_id)


async def code_taken(conn: Conn, code: str) -> bool:
    return await (await conn.execute("SELECT 1 FROM tickets WHERE code = %s", (code,))).fetchone() is not None


async def get_ticket(conn: Conn, code: str, *, for_update: bool = False) -> Ticket | None:
    lock = " FOR UPDATE" if for_update else ""
    cur = conn.cursor(row_factory=dict_row)
    row = await (await cur.execute(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE code = %s{lock}", (code,))).fetchone()
    return row_to_ticket(row) if row else None


async def first_existing(conn: Conn, codes: Sequence[str]) -> str | None:
    if not codes:
        return None
    rows = await (await conn.execute("SELECT code FROM tickets WHERE code = ANY(%s)", (list(codes),))).fetchall()
    found = {r[0] for r in rows}
    return next((c for c in codes if c in found), None)


async def thread_ticket(conn: Conn, message_ids: Sequence[str]) -> str | None:
    if not message_ids:
        return None
    cur = await conn.execute(
        "SELECT message_id, ticket_code FROM email_messages WHERE message_id = ANY(%s)", (list(message_ids),)
    )
    found = dict(await cur.fetchall())
    return next((found[m] for m in message_ids if m in found), None)  # the best (first) id that matches


async def remember_message(conn: Conn, message_id: str, code: str) -> None:
    await conn.execute(
        "INSERT INTO email_messages (message_id, ticket_code) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (message_id, code),
    )


async def takes_tickets(conn: Conn, agent_id: str) -> bool:
    row = await (
        await conn.execute(
            "SELECT 1 FROM agents WHERE id = %s AND active AND role IN ('agent-L1', 'agent-L2', 'agent-L3')",
            (agent_id,),
        )
    ).fetchone()
    return row is not None


async def save_ticket(
    conn: Conn, ticket: Ticket, *, status: str, clock: SlaClock, fields: dict[str, object] | None = None
) -> None:
    """Write the projection's mutable columns (events are appended separately)."""
    extra = fields or {}
    unknown = set(extra) - MUTABLE_COLUMNS
    if unknown:
        raise ValueError(f"not a mutable ticket column: {', '.join(sorted(unknown))}")
    assignments = "".join(f", {name} = %({name})s" for name in extra)
    await conn.execute(
        f"""UPDATE tickets SET status = %(status)s, sla_pauses = %(pauses)s, response_due = %(response_due)s,
                response_warn_at = %(response_warn_at)s, resolution_due = %(resolution_due)s,
                resolution_warn_at = %(resolution_warn_at)s, responded_at = %(responded_at)s,
                resolved_at = %(resolved_at)s, closed_at = %(closed_at)s, updated_at = now(){assignments}
            WHERE code = %(code)s""",
        {
            "code": ticket.code,
            "status": status,
            "pauses": Jsonb([p.model_dump(mode="json") for p in clock.pauses]),
            "response_due": clock.response_due,
            "response_warn_at": clock.response_warn_at,
            "resolution_due": clock.resolution_due,
            "resolution_warn_at": clock.resolution_warn_at,
            "responded_at": clock.responded_at,
            "resolved_at": clock.resolved_at,
            "closed_at": clock.closed_at,
            **extra,
        },
    )


async def append_events(conn: Conn, code: str, events: Sequence[EventDraft], intake_id: UUID | None = None) -> int:
    """Append events numbered after the ticket's last one; returns the new version."""
    if not events:
        return 0
    cur = await conn.execute(
        "UPDATE tickets SET version = version + %s, updated_at = now() WHERE code = %s RETURNING version",
        (len(events), code),
    )
    row = await cur.fetchone()
    if row is None:
        raise LookupError(code)
    last = int(row[0])
    first = last - len(events) + 1
    async with conn.cursor() as c:
        await c.executemany(
            """INSERT INTO ticket_events (ticket_code, seq, kind, actor, at, data, intake_id, action_key)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
            [
                (code, first + i, e.kind, e.actor, e.at, Jsonb(e.data), intake_id, e.action_key)
                for i, e in enumerate(events)
            ],
        )
    return last


async def has_action(conn: Conn, code: str, key: str) -> bool:
    """An event with this action key exists on the ticket (core.tickets.domain.model.EventDraft)."""
    cur = await conn.execute("SELECT 1 FROM ticket_events WHERE ticket_code = %s AND action_key = %s", (code, key))
    return await cur.fetchone() is not None


async def open_visit(conn: Conn, code: str) -> UUID | None:
    """The ticket's on-site visit under way (dispatched or on site), if any."""
    cur = await conn.execute(
        "SELECT id FROM site_visits WHERE ticket_code = %s AND status IN ('dispatched', 'on_site')", (code,)
    )
    row = await cur.fetchone()
    return row[0] if row else None


async def events_of(conn: Conn, code: str) -> list[TicketEvent]:
    cur = conn.cursor(row_factory=dict_row)
    rows = await (
        await cur.execute(
            "SELECT ticket_code, seq, kind, actor, at, data, intake_id, action_key FROM ticket_events "
            "WHERE ticket_code = %s ORDER BY seq",
            (code,),
        )
    ).fetchall()
    return [TicketEvent.model_validate(r) for r in rows]
