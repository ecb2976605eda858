"""Apply one intake event to PostgreSQL, idempotently, in the caller's transaction.

The one-by-one path: the worker uses it to isolate the event that made a batch fail (see
core.tickets.domain.batch for the batched path, which must leave the same rows).

The intake id is the deduplication key: a replayed or re-sent event finds its id in `intakes`
and changes nothing. Decisions are the pure functions of core.tickets.domain.planning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from core.intake.domain.codes import normalize_message_id
from core.intake.domain.schemas import IntakeEvent, IntakeKind
from core.tickets.domain import planning
from core.tickets.domain.batch import HeldRow, Hold, IntakeRow, thread_ids
from core.tickets.domain.model import Ticket
from core.tickets.domain.outcome import Outcome
from core.tickets.domain.planning import Followup, Policies
from core.tickets.store import held
from core.tickets.store import repository as repo

log = logging.getLogger(__name__)


async def apply_intake(
    conn: repo.Conn, event: IntakeEvent, partition: int, offset: int, policies: Policies, hold: Hold
) -> Outcome:
    """An event read from the topic (never one held before: those are planned in batches)."""
    if await repo.intake_seen(conn, event.intake_id):
        return Outcome.DUPLICATE
    code: str | None
    if event.kind is IntakeKind.NEW:
        code, outcome = await _open(conn, event, policies)
    else:
        code = await repo.first_existing(conn, event.reply_to)
        if code is None and event.kind is IntakeKind.REPLY:
            code = await repo.thread_ticket(conn, thread_ids(event))
        if code is None and hold.now < hold.until():  # its ticket may be on its way: wait for it
            await held.hold(conn, [HeldRow(event, partition, offset, hold.until())])
            return Outcome.HELD
        if code is not None and event.kind is IntakeKind.REPLY:
            outcome = await _follow(conn, code, event, lambda t: planning.on_reply(t, event))
        elif code is not None:
            outcome = await _follow(conn, code, event, lambda t: planning.on_alert_resolved(t, event, policies))
        elif event.kind is IntakeKind.REPLY:  # nothing to append to: the reply opens its own ticket
            code, outcome = await _open(conn, event, policies)
        else:
            outcome = Outcome.UNMATCHED
    await repo.record_intake(conn, IntakeRow.of(event, code, outcome, partition, offset))
    if event.email is not None and code is not None and outcome is not Outcome.CODE_COLLISION:
        await repo.remember_message(conn, normalize_message_id(event.email.message_id), code)
    return outcome


async def _open(conn: repo.Conn, event: IntakeEvent, policies: Policies) -> tuple[str | None, Outcome]:
    if await repo.code_taken(conn, event.ticket_code):
        log.error(
            "ticket code collision: intake kept in the ledger without a ticket",
            extra={"intake_id": str(event.intake_id), "ticket_code": event.ticket_code},
        )
        return None, Outcome.CODE_COLLISION
    customer, contract, asset = await repo.lookup_reference(
        conn, event.customer_id, event.contract_number, event.asset_serial
    )
    ticket, created = planning.open_ticket(event, customer=customer, contract=contract, asset=asset, policies=policies)
    await repo.insert_ticket(conn, ticket, [created])
    return ticket.code, Outcome.OPENED


async def _follow(conn: repo.Conn, code: str, event: IntakeEvent, decide: Callable[[Ticket], Followup]) -> Outcome:
    ticket = await repo.get_ticket(conn, code, for_update=True)
    assert ticket is not None  # found above, and tickets are never deleted
    followup = decide(ticket)
    await _write_followup(conn, ticket, followup, event)
    return Outcome.APPENDED


async def _write_followup(conn: repo.Conn, ticket: Ticket, followup: Followup, event: IntakeEvent) -> None:
    if followup.status is not None and followup.clock is not None:
        await repo.save_ticket(
            conn, ticket, status=followup.status.value, clock=followup.clock, fields=dict(followup.fields)
        )
    await repo.append_events(conn, ticket.code, followup.events, event.intake_id)
