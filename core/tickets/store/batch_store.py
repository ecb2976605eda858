"""SQL of the batched path (psycopg 3, async): read a batch's snapshot in a few set-based
queries, write its rows with `executemany` (pipelined by psycopg). Thin: decisions are in
core.tickets.domain.batch. The caller owns the transaction: one batch, one commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from pydantic_core import to_json

from core.domain.verification import AssetRef, ContractRef, CustomerRef
from core.tickets.domain.batch import (
    BatchWrites,
    Positioned,
    Snapshot,
    codes_named,
    message_ids,
    reference_keys,
)
from core.tickets.domain.model import Ticket
from core.tickets.store import held
from core.tickets.store.repository import TICKET_COLUMNS, Conn, row_to_ticket


async def load_snapshot(conn: Conn, batch: Sequence[Positioned]) -> Snapshot:
    events = [p.event for p in batch]
    snap = Snapshot()
    cur = conn.cursor(row_factory=dict_row)
    ids = list({e.intake_id for e in events})
    rows = await (await conn.execute("SELECT intake_id FROM intakes WHERE intake_id = ANY(%s)", (ids,))).fetchall()
    snap.seen = {r[0] for r in rows}
    mids = sorted(message_ids(events))
    if mids:
        rows = await (
            await conn.execute("SELECT message_id, ticket_code FROM email_messages WHERE message_id = ANY(%s)", (mids,))
        ).fetchall()
        snap.threads = {r[0]: r[1] for r in rows}
    codes = sorted(codes_named(events) | set(snap.threads.values()))
    # Locked in code order: two writers that lock overlapping tickets cannot deadlock on order.
    ticket_rows = await (
        await cur.execute(
            f"SELECT {TICKET_COLUMNS} FROM tickets WHERE code = ANY(%s) ORDER BY code FOR UPDATE", (codes,)
        )
    ).fetchall()
    snap.tickets = {r["code"]: row_to_ticket(r) for r in ticket_rows}
    serials, numbers, customer_ids = reference_keys(events)
    if serials:
        rows = await (await cur.execute("SELECT * FROM assets WHERE serial = ANY(%s)", (sorted(serials),))).fetchall()
        snap.assets = {r["serial"]: AssetRef.model_validate(r) for r in rows}
        numbers |= {a.contract_number for a in snap.assets.values() if a.contract_number}
        customer_ids |= {a.customer_id for a in snap.assets.values() if a.customer_id}
    if numbers:
        rows = await (
            await cur.execute("SELECT * FROM contracts WHERE number = ANY(%s)", (sorted(numbers),))
        ).fetchall()
        snap.contracts = {r["number"]: ContractRef.model_validate(r) for r in rows}
        customer_ids |= {c.customer_id for c in snap.contracts.values()}
    if customer_ids:
        rows = await (
            await cur.execute("SELECT * FROM customers WHERE id = ANY(%s)", (sorted(customer_ids),))
        ).fetchall()
        snap.customers = {r["id"]: CustomerRef.model_validate(r) for r in rows}
    return snap


_INSERT_TICKET = """
INSERT INTO tickets (code, intake_id, channel, status, priority, impact, urgency, team, region, customer_id,
    contract_number, asset_serial, verification, subject, description, contact, received_site, receiver,
    event_time, received_at, sla, sla_pauses, response_due, response_warn_at, resolution_due, resolution_warn_at,
    responded_at, resolved_at, closed_at, alert_fingerprint, root_cause, actions_taken, escalation, version)
VALUES (%(code)s, %(intake_id)s, %(channel)s, %(status)s, %(priority)s, %(impact)s, %(urgency)s, %(team)s,
    %(region)s, %(customer_id)s, %(contract_number)s, %(asset_serial)s, %(verification)s, %(subject)s,
    %(description)s, %(contact)s, %(received_site)s, %(receiver)s, %(event_time)s, %(received_at)s, %(sla)s,
    %(sla_pauses)s, %(response_due)s, %(response_warn_at)s, %(resolution_due)s, %(resolution_warn_at)s,
    %(responded_at)s, %(resolved_at)s, %(closed_at)s, %(alert_fingerprint)s, %(root_cause)s, %(actions_taken)s,
    %(escalation)s, %(version)s)
"""

_UPDATE_TICKET = """
UPDATE tickets SET status = %(status)s, sla_pauses = %(sla_pauses)s, response_due = %(response_due)s,
    response_warn_at = %(response_warn_at)s, resolution_due = %(resolution_due)s,
    resolution_warn_at = %(resolution_warn_at)s, responded_at = %(responded_at)s, resolved_at = %(resolved_at)s,
    closed_at = %(closed_at)s, root_cause = %(root_cause)s, actions_taken = %(actions_taken)s, version = %(version)s,
    updated_at = now()
WHERE code = %(code)s
"""


def _jsonb(value: Any) -> Jsonb:
    """JSON by pydantic's serializer (models included, no model_dump first): JSON encoding was the
    largest share of the worker's CPU with the standard library's encoder (py-spy, backlog drain)."""
    return Jsonb(value, dumps=to_json)


def _ticket_params(t: Ticket) -> dict[str, Any]:
    c = t.clock
    return {
        "code": t.code,
        "intake_id": t.intake_id,
        "channel": t.channel,
        "status": t.status.value,
        "priority": t.priority.value,
        "impact": t.impact,
        "urgency": t.urgency,
        "team": t.team,
        "region": t.region,
        "customer_id": t.customer_id,
        "contract_number": t.contract_number,
        "asset_serial": t.asset_serial,
        "verification": _jsonb(t.verification),
        "subject": t.subject,
        "description": t.description,
        "contact": _jsonb(t.contact),
        "received_site": t.received_site,
        "receiver": t.receiver,
        "event_time": t.event_time,
        "received_at": t.received_at,
        "sla": _jsonb(c.snapshot),
        "sla_pauses": _jsonb(list(c.pauses)),
        "response_due": c.response_due,
        "response_warn_at": c.response_warn_at,
        "resolution_due": c.resolution_due,
        "resolution_warn_at": c.resolution_warn_at,
        "responded_at": c.responded_at,
        "resolved_at": c.resolved_at,
        "closed_at": c.closed_at,
        "alert_fingerprint": t.alert_fingerprint,
        "root_cause": t.root_cause,
        "actions_taken": t.actions_taken,
        "escalation": _jsonb(t.escalation),
        "version": t.version,
    }


async def write_batch(conn: Conn, writes: BatchWrites) -> None:
    """Tickets first (events reference them), then events in the one-by-one order, then the ledger,
    then the events held for their ticket and those no longer held."""
    async with conn.cursor() as cur:
        if writes.new_tickets:
            await cur.executemany(_INSERT_TICKET, [_ticket_params(t) for t in writes.new_tickets.values()])
        if writes.changed:
            await cur.executemany(_UPDATE_TICKET, [_ticket_params(t) for t in writes.changed.values()])
        if writes.events:
            await cur.executemany(
                """INSERT INTO ticket_events (ticket_code, seq, kind, actor, at, data, intake_id)
                   VALUES (%s, %s, %s, %s, %s, %s, %s)""",
                [
                    (e.ticket_code, e.seq, e.draft.kind, e.draft.actor, e.draft.at, _jsonb(e.draft.data), e.intake_id)
                    for e in writes.events
                ],
            )
        if writes.intakes:
            await cur.executemany(
                """INSERT INTO intakes (intake_id, ticket_code, channel, kind, outcome, received_site, received_at,
                                        kafka_partition, kafka_offset)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                [astuple(i) for i in writes.intakes],
            )
        if writes.messages:
            await cur.executemany(
                "INSERT INTO email_messages (message_id, ticket_code) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                writes.messages,
            )
    await held.hold(conn, writes.held)
    await held.release(conn, writes.released)
