"""What a ticket list is filtered by (the API's query parameters, the agent's own queue)."""

from __future__ import annotations

from dataclasses import dataclass

from core.tickets.domain.lifecycle import ClockState


@dataclass(frozen=True)
class TicketFilter:
    status: str | None = None
    priority: str | None = None
    team: str | None = None
    region: str | None = None
    sla_state: ClockState | None = None
    q: str | None = None
    assignee: str | None = None
    open_only: bool = False  # not resolved or closed
