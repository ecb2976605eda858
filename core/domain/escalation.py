"""Support levels and the escalation chain snapshotted onto every ticket. Pure: no I/O.

The seeds: a ticket not resolved 1 h after opening goes from L1 to L2, 2 h later to L3 (the
expert), and after that the emergency plan (the duty manager is called); open P1/P2 tickets
get a progress update every 2 h; the customer is followed up 24-72 h after resolution.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from core.domain.priority import Priority


class SupportLevel(StrEnum):
    L1 = "L1"
    L2 = "L2"
    L3 = "L3"


NEXT_LEVEL: dict[SupportLevel, SupportLevel | None] = {
    SupportLevel.L1: SupportLevel.L2,
    SupportLevel.L2: SupportLevel.L3,
    SupportLevel.L3: None,
}


class EscalationChain(BaseModel):
    """Timers of the escalation chain; a copy travels with each ticket (policy edits and
    failovers replay the rules the ticket was opened under)."""

    model_config = ConfigDict(frozen=True)

    l2_after: timedelta = Field(default=timedelta(hours=1), gt=timedelta(0))
    l3_after: timedelta = Field(default=timedelta(hours=2), gt=timedelta(0))  # after reaching L2
    emergency_after: timedelta = Field(default=timedelta(hours=2), gt=timedelta(0))  # after reaching L3
    progress_every: timedelta = Field(default=timedelta(hours=2), gt=timedelta(0))
    progress_priorities: frozenset[Priority] = frozenset({Priority.P1, Priority.P2})
    followup_after: timedelta = Field(default=timedelta(hours=24), ge=timedelta(0))
    followup_until: timedelta = Field(default=timedelta(hours=72), gt=timedelta(0))

    def after(self, level: SupportLevel) -> timedelta:
        """How long a ticket stays at `level` before the next step of the chain."""
        return {SupportLevel.L1: self.l2_after, SupportLevel.L2: self.l3_after, SupportLevel.L3: self.emergency_after}[
            level
        ]
