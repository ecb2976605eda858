"""What applying a batch of intake events means, decided on one snapshot. Pure: no I/O.

The worker reads, in a few set-based queries, everything the batch can touch (which intake ids
were applied, the tickets it names, the email threads, the reference rows) and asks `plan_batch`,
which applies the events in offset order to an in-memory copy with exactly the rules of
`core.tickets.store.applier.apply_intake` (the one-by-one path): an intake id seen earlier in the batch
is a duplicate, a reply finds a ticket opened earlier in the batch, a code collision is one
whether the code is in the table or in the batch. The result is the rows to write, in the order
the one-by-one path would have written them (event ids, hence the outbox's order, stay the same).

A reply or a cleared alert naming a ticket that is not there yet is **held** (`Hold`) rather than
applied: its ticket's own intake may be on its way through another partition (a hedge across a
lost lane sends an event ahead of its ticket's intake), and applied now, a reply would open a
ticket of its own and a cleared alert would find nothing to resolve. It waits in the held table,
outside the ledger, until its ticket appears or its hold ends; then it is planned again here, like
any other event (`plan_batch`'s `held_until`), and applied as the rules above say.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from core.domain.verification import AssetRef, ContractRef, CustomerRef
from core.intake.domain.codes import normalize_message_id
from core.intake.domain.schemas import IntakeEvent, IntakeKind
from core.tickets.domain import planning
from core.tickets.domain.model import EventDraft, Ticket
from core.tickets.domain.outcome import Outcome
from core.tickets.domain.planning import Followup, Policies


@dataclass(frozen=True)
class Positioned:
    """An intake event and where it was read."""

    event: IntakeEvent
    partition: int
    offset: int


@dataclass
class Snapshot:
    """The rows a batch can touch, as read (tickets locked) in the batch's transaction."""

    seen: set[UUID] = field(default_factory=set)
    tickets: dict[str, Ticket] = field(default_factory=dict)
    threads: dict[str, str] = field(default_factory=dict)  # normalised Message-ID -> ticket code
    assets: dict[str, AssetRef] = field(default_factory=dict)
    contracts: dict[str, ContractRef] = field(default_factory=dict)
    customers: dict[str, CustomerRef] = field(default_factory=dict)


@dataclass(frozen=True)
class Hold:
    """When a batch is planned, and how long an event about a ticket that is not there yet waits
    for it (`wait_s` 0: never, it is applied at once)."""

    now: datetime
    wait_s: float

    def until(self) -> datetime:
        return self.now + timedelta(seconds=self.wait_s)


@dataclass(frozen=True)
class HeldRow:
    """An event held for its ticket, and until when."""

    event: IntakeEvent
    partition: int
    offset: int
    until: datetime


@dataclass(frozen=True)
class IntakeRow:
    """The intake ledger's row for one applied event (both paths write it)."""

    intake_id: UUID
    ticket_code: str | None
    channel: str
    kind: str
    outcome: str
    received_site: str
    received_at: datetime
    partition: int
    offset: int

    @classmethod
    def of(cls, event: IntakeEvent, code: str | None, outcome: Outcome, partition: int, offset: int) -> IntakeRow:
        return cls(
            intake_id=event.intake_id,
            ticket_code=code,
            channel=event.channel.value,
            kind=event.kind.value,
            outcome=outcome.value,
            received_site=event.received_site,
            received_at=event.received_at,
            partition=partition,
            offset=offset,
        )


@dataclass(frozen=True)
class EventRow:
    ticket_code: str
    seq: int
    draft: EventDraft
    intake_id: UUID


@dataclass
class BatchWrites:
    new_tickets: dict[str, Ticket] = field(default_factory=dict)  # final state, in opening order
    changed: dict[str, Ticket] = field(default_factory=dict)  # existing tickets' final state
    events: list[EventRow] = field(default_factory=list)
    intakes: list[IntakeRow] = field(default_factory=list)
    messages: list[tuple[str, str]] = field(default_factory=list)  # (Message-ID, code), first wins
    outcomes: list[tuple[IntakeEvent, Outcome]] = field(default_factory=list)
    held: list[HeldRow] = field(default_factory=list)  # to hold (a row already there keeps its end)
    released: list[UUID] = field(default_factory=list)  # held before, decided now: their rows go


# -- what the loader must read -----------------------------------------------------------
def thread_ids(event: IntakeEvent) -> list[str]:
    """The Message-IDs a reply may thread under, best first (as the one-by-one path asks)."""
    if event.email is None:
        return []
    return [normalize_message_id(m) for m in (*event.email.references, event.email.in_reply_to or "") if m]


def codes_named(events: Iterable[IntakeEvent]) -> set[str]:
    """Ticket codes the batch may open or append to (thread lookups aside)."""
    codes: set[str] = set()
    for e in events:
        codes.add(e.ticket_code)
        codes.update(e.reply_to)
    return codes


def message_ids(events: Iterable[IntakeEvent]) -> set[str]:
    ids: set[str] = set()
    for e in events:
        ids.update(thread_ids(e))
        if e.email is not None:
            ids.add(normalize_message_id(e.email.message_id))
    return ids


# -- the plan ----------------------------------------------------------------------------
def plan_batch(
    batch: Sequence[Positioned],
    snap: Snapshot,
    policies: Policies,
    hold: Hold,
    held_until: Mapping[UUID, datetime] | None = None,
) -> BatchWrites:
    """`held_until`: the events of `batch` that were held before, and the end of their hold; one
    that is decided now (applied, or a duplicate) is `released`, one still waiting stays held."""
    return _Planner(snap, policies, hold, held_until or {}).run(batch)


class _Planner:
    def __init__(self, snap: Snapshot, policies: Policies, hold: Hold, held_until: Mapping[UUID, datetime]) -> None:
        self.snap = snap
        self.policies = policies
        self.hold = hold
        self.held_until = held_until
        self.seen = set(snap.seen)
        self.threads = dict(snap.threads)
        self.out = BatchWrites()

    def ticket(self, code: str) -> Ticket | None:
        return self.out.new_tickets.get(code) or self.out.changed.get(code) or self.snap.tickets.get(code)

    def first_existing(self, codes: Sequence[str]) -> str | None:
        return next((c for c in codes if self.ticket(c) is not None), None)

    def run(self, batch: Sequence[Positioned]) -> BatchWrites:
        for item in batch:
            self.apply(item)
        return self.out

    def waits(self, event: IntakeEvent) -> datetime | None:
        """The end of this event's hold while it lasts (it names a ticket not found), else None."""
        until = self.held_until.get(event.intake_id, self.hold.until())
        return until if self.hold.now < until else None

    def apply(self, item: Positioned) -> None:
        event = item.event
        if event.intake_id in self.held_until:
            self.out.released.append(event.intake_id)  # taken back below if it waits on
        if event.intake_id in self.seen:
            self.out.outcomes.append((event, Outcome.DUPLICATE))
            return
        self.seen.add(event.intake_id)
        code: str | None
        if event.kind is IntakeKind.NEW:
            code, outcome = self.open(event)
        else:
            code = self.first_existing(event.reply_to)
            if code is None and event.kind is IntakeKind.REPLY:
                code = next((self.threads[m] for m in thread_ids(event) if m in self.threads), None)
            until = self.waits(event) if code is None else None
            if until is not None:
                self.held(item, until)
                return
            if code is not None and event.kind is IntakeKind.REPLY:
                outcome = self.follow(code, event, lambda t: planning.on_reply(t, event))
            elif code is not None:
                outcome = self.follow(code, event, lambda t: planning.on_alert_resolved(t, event, self.policies))
            elif event.kind is IntakeKind.REPLY:  # nothing to append to: the reply opens its own ticket
                code, outcome = self.open(event)
            else:
                outcome = Outcome.UNMATCHED
        self.out.intakes.append(IntakeRow.of(event, code, outcome, item.partition, item.offset))
        if event.email is not None and code is not None and outcome is not Outcome.CODE_COLLISION:
            message_id = normalize_message_id(event.email.message_id)
            if message_id not in self.threads:  # ON CONFLICT DO NOTHING: the first ticket keeps it
                self.threads[message_id] = code
                self.out.messages.append((message_id, code))
        self.out.outcomes.append((event, outcome))

    def held(self, item: Positioned, until: datetime) -> None:
        event = item.event
        self.seen.discard(event.intake_id)  # not applied: a copy of it later in the batch waits too
        if event.intake_id in self.held_until:
            self.out.released.remove(event.intake_id)  # still waiting: its row stays as it is
        else:
            self.out.held.append(HeldRow(event, item.partition, item.offset, until))
        self.out.outcomes.append((event, Outcome.HELD))

    def open(self, event: IntakeEvent) -> tuple[str | None, Outcome]:
        if self.ticket(event.ticket_code) is not None:
            return None, Outcome.CODE_COLLISION
        customer, contract, asset = self.reference(event)
        ticket, created = planning.open_ticket(
            event, customer=customer, contract=contract, asset=asset, policies=self.policies
        )
        ticket = ticket.model_copy(update={"version": 1})
        self.out.new_tickets[ticket.code] = ticket
        self.out.events.append(EventRow(ticket.code, 1, created, ticket.intake_id))
        return ticket.code, Outcome.OPENED

    def reference(self, event: IntakeEvent) -> tuple[CustomerRef | None, ContractRef | None, AssetRef | None]:
        """As repository.lookup_reference: the asset first, a serial alone finds the rest."""
        asset = self.snap.assets.get(event.asset_serial) if event.asset_serial else None
        number = event.contract_number or (asset.contract_number if asset else None)
        contract = self.snap.contracts.get(number) if number else None
        cid = (
            event.customer_id or (contract.customer_id if contract else None) or (asset.customer_id if asset else None)
        )
        customer = self.snap.customers.get(cid) if cid else None
        return customer, contract, asset

    def follow(self, code: str, event: IntakeEvent, decide: Callable[[Ticket], Followup]) -> Outcome:
        ticket = self.ticket(code)
        assert ticket is not None  # found above; tickets are never deleted
        followup = decide(ticket)
        update: dict[str, object] = {"version": ticket.version + len(followup.events)}
        if followup.status is not None and followup.clock is not None:
            update |= {"status": followup.status, "clock": followup.clock, **followup.fields}
        for i, draft in enumerate(followup.events):
            self.out.events.append(EventRow(code, ticket.version + 1 + i, draft, event.intake_id))
        changed = ticket.model_copy(update=update)
        if code in self.out.new_tickets:
            self.out.new_tickets[code] = changed
        else:
            self.out.changed[code] = changed
        return Outcome.APPENDED


def reference_keys(events: Iterable[IntakeEvent]) -> tuple[set[str], set[str], set[str]]:
    """Serials, contract numbers and customer ids named by events that may open a ticket."""
    serials, numbers, customers = set(), set(), set()
    for e in events:
        if e.kind is IntakeKind.ALERT_RESOLVED:
            continue
        if e.asset_serial:
            serials.add(e.asset_serial)
        if e.contract_number:
            numbers.add(e.contract_number)
        if e.customer_id:
            customers.add(e.customer_id)
    return serials, numbers, customers
