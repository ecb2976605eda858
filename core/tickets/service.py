"""Ticket API operations: each one is a locked read, a pure decision, events and a projection
update in one transaction (core.tickets.ports.TicketStore; PostgreSQL's primary in service)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from core.domain.escalation import NEXT_LEVEL
from core.domain.priority import Priority
from core.domain.ticket_states import TRANSITIONS, InvalidTransition, TicketState, is_reopen
from core.errors import Conflict, FieldError, InvalidInput, NotFound
from core.intake.domain.codes import normalize_code
from core.tickets.domain.filters import TicketFilter
from core.tickets.domain.lifecycle import change_state
from core.tickets.domain.model import EventDraft, Ticket, TicketEvent
from core.tickets.domain.sla_clock import followup_key
from core.tickets.http.schemas import (
    ComplaintRequest,
    CsatRequest,
    DuplicateRequest,
    EscalateRequest,
    FollowupOutcome,
    FollowupRequest,
    ReassignRequest,
    ResolutionRequest,
    ReviewRequest,
    TransitionRequest,
    WorklogRequest,
)
from core.tickets.ports import TicketStore, TicketWrites

S = TicketState


def _per_resolution(kind: str, resolved_at: datetime | None) -> str:
    """An action key that happens once per resolution: a reopened and again resolved ticket has a
    new one."""
    return f"{kind}:{resolved_at.isoformat() if resolved_at else '-'}"


def csat_key(resolved_at: datetime | None) -> str:
    """The action key of a customer's rating (one per resolution)."""
    return _per_resolution("csat", resolved_at)


def takes_rating(ticket: Ticket, events: Sequence[TicketEvent]) -> bool:
    """Resolved (or closed), and this resolution not rated yet: the rating form is offered."""
    key = csat_key(ticket.clock.resolved_at)
    return ticket.status in (S.RESOLVED, S.CLOSED) and not any(e.action_key == key for e in events)


def review_key(resolved_at: datetime | None) -> str:
    """The action key of a P1's post-incident review (one per resolution: a reopened and again
    resolved P1 is reviewed again before it closes)."""
    return _per_resolution("post_incident_review", resolved_at)


def canonical(code: str) -> str:
    normalized = normalize_code(code)
    if normalized is None:
        raise NotFound(f"{code!r} is not a ticket code (like INC-7K3M-9QX2-AB4D)")
    return normalized


@dataclass
class TicketService:
    store: TicketStore

    async def get(self, code: str) -> Ticket:
        async with self.store.reading() as reads:
            ticket = await reads.ticket(canonical(code))
        if ticket is None:
            raise NotFound(f"no ticket {code} (an intake appears here within seconds of its 202)")
        return ticket

    async def events(self, code: str) -> list[TicketEvent]:
        async with self.store.reading() as reads:
            events = await reads.events(canonical(code))
        if not events:  # every ticket has at least its `created` event
            raise NotFound(f"no ticket {code}")
        return events

    async def list(self, flt: TicketFilter, limit: int, cursor: str | None) -> tuple[list[Ticket], str | None]:
        async with self.store.reading() as reads:
            return await reads.page(flt, limit, cursor)

    async def transition(self, code: str, req: TransitionRequest, actor: str) -> Ticket:
        if req.to is S.RESOLVED:  # every path to resolved records why (seed 000: closing with root cause)
            raise InvalidInput(
                "a ticket is resolved with its root cause and the actions taken: POST /v1/tickets/{code}/resolution",
                [FieldError("to", "resolved needs root_cause and actions_taken")],
            )
        return await self._move(code, req.to, actor, {"note": req.note})

    async def resolve(self, code: str, req: ResolutionRequest, actor: str) -> Ticket:
        return await self._move(
            code,
            S.RESOLVED,
            actor,
            {"root_cause": req.root_cause, "actions_taken": req.actions_taken},
            fields={"root_cause": req.root_cause, "actions_taken": req.actions_taken},
        )

    async def worklog(self, code: str, req: WorklogRequest, actor: str) -> Ticket:
        now = datetime.now(UTC)
        async with self.store.writing() as tx:
            ticket = await self._locked(tx, code)
            data = {"note": req.note, "kind": req.kind.value, "minutes_spent": req.minutes_spent}
            await tx.append(ticket.code, [EventDraft(kind="worklog", actor=actor, at=now, data=data)])
            return await self._reread(tx, ticket.code)

    async def csat(self, code: str, req: CsatRequest, actor: str) -> Ticket:
        now = datetime.now(UTC)
        async with self.store.writing() as tx:
            ticket = await self._locked(tx, code)
            if ticket.status not in (S.RESOLVED, S.CLOSED):
                raise Conflict(f"CSAT is taken after resolution; {ticket.code} is {ticket.status}")
            key = csat_key(ticket.clock.resolved_at)
            if await tx.has_action(ticket.code, key):
                # One answer per resolution: a second would overwrite what the KPIs already counted.
                raise Conflict(f"{ticket.code}'s rating of this resolution is recorded")
            await tx.save(
                ticket,
                status=ticket.status.value,
                clock=ticket.clock,
                fields={"csat_score": req.score, "csat_comment": req.comment},
            )
            # Recorded by the agent who took the customer's answer (the follow-up call or e-mail).
            data = {"score": req.score, "comment": req.comment, "source": "customer"}
            event = EventDraft(kind="csat", actor=actor, at=now, data=data, action_key=key)
            await tx.append(ticket.code, [event])
            return await self._reread(tx, ticket.code)

    async def followup(self, code: str, req: FollowupRequest, actor: str) -> Ticket:
        """Record the follow-up of the ticket's last resolution, once: it ends the SLA clock's
        follow-up reminders (core.tickets.domain.sla_clock). `reopened` sends the ticket back to
        in_progress in the same transaction."""
        now = datetime.now(UTC)
        async with self.store.writing() as tx:
            ticket = await self._locked(tx, code)
            resolved_at = ticket.clock.resolved_at
            if ticket.status not in (S.RESOLVED, S.CLOSED) or resolved_at is None:
                raise Conflict(f"a follow-up comes after the resolution; {ticket.code} is {ticket.status}")
            key = followup_key(resolved_at)
            if await tx.has_action(ticket.code, key):
                raise Conflict(f"the follow-up of {ticket.code}'s resolution at {resolved_at.isoformat()} is recorded")
            data = {"outcome": req.outcome.value, "note": req.note, "resolved_at": resolved_at.isoformat()}
            events = [EventDraft(kind="followup_recorded", actor=actor, at=now, data=data, action_key=key)]
            if req.outcome is FollowupOutcome.REOPENED:
                clock = change_state(ticket.clock, ticket.status, S.IN_PROGRESS, now)
                await tx.save(ticket, status=S.IN_PROGRESS.value, clock=clock, fields={"level_since": now})
                moved = {"from": ticket.status, "to": S.IN_PROGRESS, "note": f"reopened at the follow-up: {req.note}"}
                events.append(EventDraft(kind="status_changed", actor=actor, at=now, data=moved))
            await tx.append(ticket.code, events)
            return await self._reread(tx, ticket.code)

    async def review(self, code: str, req: ReviewRequest, actor: str) -> Ticket:
        """Record a P1's post-incident review, once, after its resolution: it is what lets the
        ticket be closed (core.tickets.service._move)."""
        now = datetime.now(UTC)
        async with self.store.writing() as tx:
            ticket = await self._locked(tx, code)
            if ticket.priority is not Priority.P1:
                raise Conflict(f"post-incident reviews are for P1 incidents; {ticket.code} is {ticket.priority}")
            if ticket.status not in (S.RESOLVED, S.CLOSED):
                raise Conflict(f"a post-incident review comes after the resolution; {ticket.code} is {ticket.status}")
            key = review_key(ticket.clock.resolved_at)
            if await tx.has_action(ticket.code, key):
                raise Conflict(f"{ticket.code}'s post-incident review of this resolution is recorded")
            data = req.model_dump(mode="json")
            await tx.append(
                ticket.code,
                [EventDraft(kind="post_incident_review", actor=actor, at=now, data=data, action_key=key)],
            )
            return await self._reread(tx, ticket.code)

    async def mark_duplicate(self, code: str, req: DuplicateRequest, actor: str) -> Ticket:
        """Close out `code` as a duplicate of `req.primary`: both keep a link to the other, and the
        duplicate is resolved with that as its root cause (its customer is told, with the primary's
        code). Work goes on in the primary."""
        now = datetime.now(UTC)
        dup_code = canonical(code)
        try:
            primary_code = canonical(req.primary)
        except NotFound as exc:
            raise InvalidInput(f"primary: {exc.detail}", [FieldError("primary", "not a ticket code")]) from None
        if dup_code == primary_code:
            raise InvalidInput("primary: a ticket is not a duplicate of itself", [FieldError("primary", "same ticket")])
        async with self.store.writing() as tx:
            # Locked in code order: two agents linking the same pair the other way round cannot deadlock.
            first, second = sorted((dup_code, primary_code))
            locked = {first: await self._locked(tx, first), second: await self._locked(tx, second)}
            dup, primary = locked[dup_code], locked[primary_code]
            if primary.status in (S.RESOLVED, S.CLOSED):
                # A resolved duplicate among them: work goes on in an open ticket, never in a chain.
                raise Conflict(f"the primary {primary.code} is {primary.status}; link to an open ticket (or reopen it)")
            if dup.status in (S.RESOLVED, S.CLOSED):
                raise Conflict(f"{dup.code} is {dup.status}; only an open ticket is closed out as a duplicate")
            await self._no_visit_under_way(tx, dup)
            cause = f"Trùng với / Duplicate of {primary.code}"
            actions = f"Xử lý tiếp trong {primary.code} / Handled in {primary.code}" + (
                f": {req.note}" if req.note else ""
            )
            clock = change_state(dup.clock, dup.status, S.RESOLVED, now)
            fields: dict[str, object] = {"root_cause": cause, "actions_taken": actions}
            await tx.save(dup, status=S.RESOLVED.value, clock=clock, fields=fields)
            moved = {"from": dup.status, "to": S.RESOLVED, **fields}
            await tx.append(
                dup.code,
                [
                    EventDraft(
                        kind="duplicate_of",
                        actor=actor,
                        at=now,
                        data={"primary": primary.code, "note": req.note},
                    ),
                    EventDraft(kind="status_changed", actor=actor, at=now, data=moved),
                ],
            )
            await tx.append(
                primary.code, [EventDraft(kind="duplicate_linked", actor=actor, at=now, data={"duplicate": dup.code})]
            )
            return await self._reread(tx, dup.code)

    async def complain(self, code: str, req: ComplaintRequest, actor: str) -> Ticket:
        """Record a complaint on the ticket; the notifier takes it to the ServiceDesk manager."""
        now = datetime.now(UTC)
        async with self.store.writing() as tx:
            ticket = await self._locked(tx, code)
            data = {"text": req.text, "status": ticket.status.value, "priority": ticket.priority.value}
            await tx.append(ticket.code, [EventDraft(kind="complaint", actor=actor, at=now, data=data)])
            return await self._reread(tx, ticket.code)

    async def reassign(self, code: str, req: ReassignRequest, actor: str) -> Ticket:
        """A supervisor gives an open ticket to an engineer (the dispatcher's choice overruled)."""
        now = datetime.now(UTC)
        async with self.store.writing() as tx:
            ticket = await self._locked_open(tx, code, "reassigned")
            if ticket.assignee == req.assignee:
                return ticket  # already theirs: nothing to record (a resubmitted form changes nothing)
            if not await tx.takes_tickets(req.assignee):
                raise InvalidInput(f"{req.assignee!r} is not an active engineer who takes tickets", [])
            fields: dict[str, object] = {"assignee": req.assignee, "assigned_at": now}
            await tx.save(ticket, status=ticket.status.value, clock=ticket.clock, fields=fields)
            data = {"from": ticket.assignee, "to": req.assignee, "note": req.note, "by": actor}
            await tx.append(ticket.code, [EventDraft(kind="reassigned", actor=actor, at=now, data=data)])
            return await self._reread(tx, ticket.code)

    async def escalate(self, code: str, req: EscalateRequest, actor: str) -> Ticket:
        """A supervisor moves an open ticket to the next support level now, not when the SLA clock
        would; it is unassigned so the dispatcher gives it to whoever is on duty at that level."""
        now = datetime.now(UTC)
        async with self.store.writing() as tx:
            ticket = await self._locked_open(tx, code, "escalated")
            if ticket.support_level != req.from_level:
                raise Conflict(
                    f"{ticket.code} is at {ticket.support_level} now, not {req.from_level}: nothing was escalated"
                )
            target = NEXT_LEVEL[ticket.support_level]
            if target is None:
                raise Conflict(f"{ticket.code} is at {ticket.support_level}, the last level: call the duty manager")
            fields: dict[str, object] = {
                "support_level": target.value,
                "level_since": now,
                "assignee": None,
                "assigned_at": None,
            }
            await tx.save(ticket, status=ticket.status.value, clock=ticket.clock, fields=fields)
            data = {"from": ticket.support_level.value, "to": target.value, "reason": req.note, "manual": True}
            await tx.append(ticket.code, [EventDraft(kind="escalated", actor=actor, at=now, data=data)])
            return await self._reread(tx, ticket.code)

    async def _locked_open(self, tx: TicketWrites, code: str, what: str) -> Ticket:
        ticket = await self._locked(tx, code)
        if ticket.status in (S.RESOLVED, S.CLOSED):
            raise Conflict(f"{ticket.code} is {ticket.status}: it cannot be {what}")
        return ticket

    async def _move(
        self,
        code: str,
        target: TicketState,
        actor: str,
        data: dict[str, str],
        fields: dict[str, object] | None = None,
    ) -> Ticket:
        now = datetime.now(UTC)
        async with self.store.writing() as tx:
            ticket = await self._locked(tx, code)
            try:
                clock = change_state(ticket.clock, ticket.status, target, now)
            except InvalidTransition as exc:
                raise Conflict(str(exc), [s.value for s in sorted(TRANSITIONS[ticket.status])]) from None
            if target is S.RESOLVED:
                await self._no_visit_under_way(tx, ticket)
            if target is S.CLOSED and not (ticket.root_cause and ticket.actions_taken):
                # Resolved by a path that skipped the rule (migration 0016 filled in the tickets from before it).
                raise Conflict(
                    f"{ticket.code} is closed with its root cause and the actions taken; reopen it and "
                    f"POST /v1/tickets/{ticket.code}/resolution first"
                )
            if (
                target is S.CLOSED
                and ticket.priority is Priority.P1
                and not await tx.has_action(ticket.code, review_key(ticket.clock.resolved_at))
            ):
                raise Conflict(f"a P1 is closed after its post-incident review: POST /v1/tickets/{ticket.code}/review")
            if is_reopen(ticket.status, target):
                # The escalation timer of the current level starts again: a ticket reopened days
                # after its resolution must not escalate the moment it is reopened.
                fields = {**(fields or {}), "level_since": now}
            await tx.save(ticket, status=target.value, clock=clock, fields=fields)
            event = EventDraft(
                kind="status_changed", actor=actor, at=now, data={"from": ticket.status, "to": target, **data}
            )
            await tx.append(ticket.code, [event])
            return await self._reread(tx, ticket.code)

    async def _no_visit_under_way(self, tx: TicketWrites, ticket: Ticket) -> None:
        """A technician on the way or on site still holds the visit's parts and time: the visit ends
        (departure with the work done, or cancellation, which gives the parts back) before the
        ticket is resolved."""
        visit = await tx.open_visit(ticket.code)
        if visit is not None:
            raise Conflict(
                f"{ticket.code} has an on-site visit under way ({visit}): record its departure or cancel it first"
            )

    async def _locked(self, tx: TicketWrites, code: str) -> Ticket:
        ticket = await tx.locked(canonical(code))
        if ticket is None:
            raise NotFound(f"no ticket {code}")
        return ticket

    async def _reread(self, tx: TicketWrites, code: str) -> Ticket:
        ticket = await tx.ticket(code)
        assert ticket is not None
        return ticket
