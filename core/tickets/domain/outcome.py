"""What applying one intake event did. Pure."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    OPENED = "opened"
    APPENDED = "appended"
    DUPLICATE = "duplicate"  # this intake id was applied before: nothing changed
    UNMATCHED = "unmatched"  # a resolved alert whose ticket we never opened
    CODE_COLLISION = "code_collision"  # a different intake already holds the code (60-bit hash)
    HELD = "held"  # names a ticket not there yet: held for it, not applied (core.tickets.domain.batch)
