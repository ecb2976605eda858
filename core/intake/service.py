"""Intake: give each draft its identity and receipt, hand it to the bus, report what was accepted.

Identity is derived, never coordinated (see core.intake.domain.codes): the same key at either site
yields the same intake id and ticket code, so a retry is harmless wherever it lands.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from prometheus_client import Counter, Gauge, Histogram

from core.errors import InvalidInput, Overloaded
from core.intake.domain.admission import Gate, LoopPressure, Urgency, urgency_of
from core.intake.domain.codes import intake_id_for, ticket_code_for
from core.intake.domain.schemas import SIGNED_CHANNELS, Channel, IntakeDraft, IntakeEvent, IntakeKind, received
from core.intake.domain.storable import StoreLimits, describe, problems
from core.intake.kafka.bus import IntakeBus

log = logging.getLogger(__name__)
INTAKES = Counter("ccdr_intake_events_total", "Intake events acknowledged by Kafka", ["channel", "kind"])
INTAKE_FAILURES = Counter("ccdr_intake_unavailable_total", "Intakes refused with 503", ["channel"])
SHED = Counter(
    "ccdr_intake_shed_total", "Intakes refused at once because intake was at capacity", ["channel", "urgency"]
)
IN_FLIGHT = Gauge("ccdr_intake_in_flight", "Intakes waiting for Kafka's acknowledgement (the admission gate's count)")
ACK_LATENCY = Histogram(
    "ccdr_intake_ack_seconds",
    "Time from request to Kafka acknowledgement",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20),
)


@dataclass(frozen=True)
class Identity:
    intake_id: UUID
    ticket_code: str  # the code a new ticket from this intake gets
    reply_to: tuple[str, ...]


def identify(draft: IntakeDraft, idempotency_key: str | None, index: int) -> Identity:
    """Pure. The client's Idempotency-Key wins over the channel's natural key, except on a signed
    channel, where the natural key is what the signature covers and no header may change it; a
    request that carries several events (an Alertmanager group) numbers them under the client's key."""
    key = draft.natural_key
    signed_key = draft.channel in SIGNED_CHANNELS and key is not None
    if idempotency_key is not None and not signed_key:
        key = f"idem:{idempotency_key}" + (f"#{index}" if index else "")
    intake_id = intake_id_for(draft.channel, draft.kind, key)
    code = ticket_code_for(intake_id if key is None else intake_id_for(draft.channel, IntakeKind.NEW, key))
    reply_to = draft.reply_to
    if draft.kind is IntakeKind.ALERT_RESOLVED and not reply_to:
        reply_to = (code,)  # the firing alert with the same fingerprint and start opened this code
    return Identity(intake_id, code, reply_to)


@dataclass(frozen=True)
class Accepted:
    intake_id: UUID
    ticket_code: str  # the ticket this intake opened or appends to
    kind: IntakeKind


@dataclass
class IntakeService:
    bus: IntakeBus
    site: str
    limits: StoreLimits = field(default_factory=StoreLimits)
    gate: Gate | None = None  # admission control; None: unbounded (tests)
    retry_after_s: int = 1  # what a shed client is told
    pressure: LoopPressure | None = None  # the event loop's lag; None: not watched (tests)

    def check_door(self, channel: Channel) -> None:
        """Before the body is read: refuse a never-urgent channel while the loop runs late."""
        if self.pressure is not None and self.pressure.sheds_at_the_door(channel):
            raise self._shed(channel, Urgency.NORMAL, f"overloaded (it runs {self.pressure.lag_s * 1000:.0f} ms late)")

    def _shed(self, channel: Channel, urgency: Urgency, why: str) -> Overloaded:
        SHED.labels(channel.value, urgency.value).inc()
        return Overloaded(
            f"intake at site {self.site} is {why}; retry in {self.retry_after_s} s "
            "(with the same Idempotency-Key), here or at the other site",
            self.retry_after_s,
        )

    def build(
        self, drafts: Sequence[IntakeDraft], *, receiver: str, idempotency_key: str | None, now: datetime
    ) -> list[IntakeEvent]:
        events = []
        for index, draft in enumerate(drafts):
            ident = identify(draft, idempotency_key, index)
            event = received(
                draft.model_copy(update={"reply_to": ident.reply_to}),
                intake_id=ident.intake_id,
                ticket_code=ident.ticket_code,
                received_at=now,
                site=self.site,
                receiver=receiver,
            )
            found = problems(event, now, self.limits)
            if found:
                where = f"event {index + 1}: " if len(drafts) > 1 else ""
                raise InvalidInput(f"{where}the store could not keep this intake: {describe(found)}", found)
            events.append(event)
        return events

    async def accept(
        self, drafts: Sequence[IntakeDraft], *, receiver: str, idempotency_key: str | None, now: datetime
    ) -> list[Accepted]:
        """Returns only after Kafka acknowledged every event; raises Unavailable otherwise, and
        InvalidInput (nothing published) when any event holds what the store cannot keep."""
        events = self.build(drafts, receiver=receiver, idempotency_key=idempotency_key, now=now)
        if not events:
            return []
        channel = events[0].channel.value
        urgency = urgency_of(events[0].channel, drafts)
        if self.gate is not None and not self.gate.admit(urgency):
            raise self._shed(events[0].channel, urgency, f"at capacity for {urgency.value} intakes")
        try:
            with ACK_LATENCY.labels(channel).time():
                try:
                    await self.bus.publish(events)
                except Exception:
                    INTAKE_FAILURES.labels(channel).inc()
                    raise
        finally:
            if self.gate is not None:
                self.gate.release()
        for event in events:
            INTAKES.labels(event.channel.value, event.kind.value).inc()
            log.info(
                "intake acknowledged",
                extra={"intake_id": str(event.intake_id), "ticket_code": event.ticket_code, "channel": channel},
            )
        return [Accepted(e.intake_id, e.partition_key, e.kind) for e in events]
