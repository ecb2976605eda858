"""Admission control of intake: a bounded amount of work in flight, the least urgent shed first.
Pure: no I/O, no clock.

An intake in flight is one waiting for Kafka's acknowledgement. Beyond the bound, waiting only
grows every client's latency until they time out silently; refusing at once with 503 and
Retry-After lets a client retry later or at the other site. The most urgent intakes (a critical
monitoring alert, a hotline call, a walk-in) may use the whole bound; the rest only a share of
it, so under pressure they are shed first and the urgent ones still get in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from core.intake.domain.schemas import Channel, IntakeDraft

URGENT_CHANNELS = frozenset({Channel.HOTLINE, Channel.WALK_IN})  # a person is on the line or at the desk
ALERT_CHANNELS = frozenset({Channel.ALERTMANAGER, Channel.GRAFANA})  # urgent or not: known once parsed
CRITICAL_SEVERITIES = frozenset({"critical", "p1", "page", "disaster", "emergency"})


class Urgency(StrEnum):
    URGENT = "urgent"
    NORMAL = "normal"


def urgency_of(channel: Channel, drafts: Sequence[IntakeDraft]) -> Urgency:
    """Urgent: hotline and walk-in entries, and monitoring payloads carrying a critical alert."""
    if channel in URGENT_CHANNELS:
        return Urgency.URGENT
    for draft in drafts:
        severity = (draft.alert.severity or "").strip().casefold() if draft.alert else ""
        if severity in CRITICAL_SEVERITIES:
            return Urgency.URGENT
    return Urgency.NORMAL


@dataclass
class Gate:
    """In-flight intakes of one process. `admit` then `release` around each publish; single
    event loop, so no lock."""

    max_in_flight: int
    normal_share: float  # of max_in_flight, for what is not urgent
    in_flight: int = 0

    def __post_init__(self) -> None:
        if self.max_in_flight < 1 or not 0 < self.normal_share <= 1:
            raise ValueError("max_in_flight must be >= 1 and normal_share in (0, 1]")

    def limit(self, urgency: Urgency) -> int:
        if urgency is Urgency.URGENT:
            return self.max_in_flight
        return max(1, int(self.max_in_flight * self.normal_share))

    def admit(self, urgency: Urgency) -> bool:
        if self.in_flight >= self.limit(urgency):
            return False
        self.in_flight += 1
        return True

    def release(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)


@dataclass
class LoopPressure:
    """How late the process's event loop runs its timers (the app measures it). A loop running late
    means every request waits in line before it is even parsed: an in-flight bound cannot see that
    queue, so while the lag is above the limit the channels that can never be urgent are refused
    before their body is read, which is what frees the loop."""

    limit_s: float
    sustain: int = 1  # consecutive late samples before shedding: a burst (a JVM starting) is not overload
    lag_s: float = 0.0
    late_samples: int = 0

    def sheds_at_the_door(self, channel: Channel) -> bool:
        """Refuse before reading the body: only channels whose requests are never urgent."""
        never_urgent = channel not in URGENT_CHANNELS and channel not in ALERT_CHANNELS
        return never_urgent and self.late_samples >= self.sustain

    def observe(self, expected_at: float, ran_at: float) -> None:
        self.lag_s = max(0.0, ran_at - expected_at)
        self.late_samples = self.late_samples + 1 if self.lag_s > self.limit_s else 0
