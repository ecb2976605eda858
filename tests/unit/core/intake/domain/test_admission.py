"""Admission control: a bounded number of intakes in flight, the least urgent shed first, and a
shed request answered at once with 503 + Retry-After, publishing nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from core.errors import Overloaded
from core.intake.domain.admission import Gate, Urgency, urgency_of
from core.intake.domain.schemas import AlertInfo, Channel, Contact, IntakeDraft, IntakeEvent
from core.intake.service import IntakeService

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def _alert(severity: str | None) -> IntakeDraft:
    alert = AlertInfo(source="alertmanager", fingerprint="f", status="firing", severity=severity, starts_at=NOW)
    return IntakeDraft(channel=Channel.ALERTMANAGER, subject="disk", alert=alert)


@pytest.mark.parametrize(
    ("channel", "drafts", "expected"),
    [
        (Channel.HOTLINE, [], Urgency.URGENT),
        (Channel.WALK_IN, [], Urgency.URGENT),
        (Channel.ALERTMANAGER, [_alert("warning"), _alert("Critical")], Urgency.URGENT),
        (Channel.ALERTMANAGER, [_alert("warning"), _alert(None)], Urgency.NORMAL),
        (Channel.PORTAL, [IntakeDraft(channel=Channel.PORTAL, subject="urgent!!")], Urgency.NORMAL),
    ],
)
def test_urgency(channel: Channel, drafts: list[IntakeDraft], expected: Urgency) -> None:
    assert urgency_of(channel, drafts) is expected


def test_the_normal_share_fills_first_and_urgent_intakes_still_get_in() -> None:
    gate = Gate(max_in_flight=4, normal_share=0.5)
    assert [gate.admit(Urgency.NORMAL) for _ in range(3)] == [True, True, False]
    assert [gate.admit(Urgency.URGENT) for _ in range(3)] == [True, True, False]
    gate.release()
    assert not gate.admit(Urgency.NORMAL) and gate.admit(Urgency.URGENT)
    for _ in range(4):
        gate.release()
    assert gate.in_flight == 0 and gate.admit(Urgency.NORMAL)


class StalledBus:
    """A bus whose acknowledgements wait until released, like Kafka waiting for a dead replica."""

    def __init__(self) -> None:
        self.events: list[IntakeEvent] = []
        self.ack = asyncio.Event()

    async def publish(self, events: Sequence[IntakeEvent]) -> None:
        await self.ack.wait()
        self.events.extend(events)

    def not_ready(self) -> str | None:
        return None


def test_at_capacity_a_portal_intake_is_refused_at_once_and_a_hotline_call_admitted() -> None:
    async def scenario() -> None:
        bus = StalledBus()
        service = IntakeService(bus, "a", gate=Gate(max_in_flight=2, normal_share=0.5), retry_after_s=2)
        form = IntakeDraft(channel=Channel.PORTAL, subject="s", contact=Contact(phone="0912000000"))
        call = IntakeDraft(channel=Channel.HOTLINE, subject="s", contact=Contact(phone="0912000000"))
        waiting = asyncio.create_task(service.accept([form], receiver="system", idempotency_key="1", now=NOW))
        await asyncio.sleep(0)  # the first one is in flight now
        with pytest.raises(Overloaded) as refused:
            await asyncio.wait_for(service.accept([form], receiver="system", idempotency_key="2", now=NOW), 0.5)
        assert refused.value.retry_after_s == 2 and refused.value.status == 503
        urgent = asyncio.create_task(service.accept([call], receiver="agent:x", idempotency_key="3", now=NOW))
        await asyncio.sleep(0)
        bus.ack.set()
        await asyncio.gather(waiting, urgent)
        assert sorted(e.channel.value for e in bus.events) == ["hotline", "portal"]  # the shed one: nothing
        assert service.gate is not None and service.gate.in_flight == 0

    asyncio.run(scenario())


def test_a_late_loop_refuses_never_urgent_channels_at_the_door_only() -> None:
    from core.intake.domain.admission import LoopPressure

    pressure = LoopPressure(limit_s=0.1, sustain=3)
    pressure.observe(expected_at=10.0, ran_at=10.05)
    assert not pressure.sheds_at_the_door(Channel.PORTAL)
    for _ in range(2):
        pressure.observe(expected_at=10.0, ran_at=10.3)
    pressure.observe(expected_at=11.0, ran_at=11.01)  # a burst, then on time again: no shedding
    pressure.observe(expected_at=12.0, ran_at=12.3)
    assert not pressure.sheds_at_the_door(Channel.PORTAL)
    for _ in range(2):
        pressure.observe(expected_at=13.0, ran_at=13.3)
    assert pressure.sheds_at_the_door(Channel.PORTAL) and pressure.sheds_at_the_door(Channel.SLACK)
    # Alerts may be critical (known only once parsed); hotline and walk-in are always urgent.
    assert not any(pressure.sheds_at_the_door(c) for c in (Channel.ALERTMANAGER, Channel.GRAFANA, Channel.HOTLINE))


def test_the_door_check_refuses_with_retry_after_and_publishes_nothing() -> None:
    from core.intake.domain.admission import LoopPressure

    bus = StalledBus()
    pressure = LoopPressure(limit_s=0.1, lag_s=0.5, late_samples=1)
    service = IntakeService(bus, "a", retry_after_s=3, pressure=pressure)
    with pytest.raises(Overloaded) as refused:
        service.check_door(Channel.MOBILE)
    assert refused.value.retry_after_s == 3 and "500 ms late" in refused.value.detail
    service.check_door(Channel.WALK_IN)  # admitted: a person is at the desk
    assert bus.events == []
