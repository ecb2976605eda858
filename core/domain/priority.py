"""Priority P1-P4 from an impact x urgency matrix plus rules. Pure: no I/O.

The matrix is the ITIL-style grid the service-desk seeds use; rules can only raise a priority
(an alert's severity, an outage keyword, a premium contract), never lower it, and every raise is
recorded as a reason so the ticket shows why it got its priority.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Impact(StrEnum):
    HIGH = "high"  # many users, a site or a critical service
    MEDIUM = "medium"  # a department or a degraded service
    LOW = "low"  # one user or a workaround exists


class Urgency(StrEnum):
    HIGH = "high"  # work stopped now
    MEDIUM = "medium"  # work impaired
    LOW = "low"  # can wait


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"

    @property
    def rank(self) -> int:
        """1 is the most urgent."""
        return int(self.value[1])

    @classmethod
    def of_rank(cls, rank: int) -> Priority:
        return cls(f"P{min(max(rank, 1), 4)}")


DEFAULT_MATRIX: dict[Impact, dict[Urgency, Priority]] = {
    Impact.HIGH: {Urgency.HIGH: Priority.P1, Urgency.MEDIUM: Priority.P2, Urgency.LOW: Priority.P3},
    Impact.MEDIUM: {Urgency.HIGH: Priority.P2, Urgency.MEDIUM: Priority.P3, Urgency.LOW: Priority.P4},
    Impact.LOW: {Urgency.HIGH: Priority.P3, Urgency.MEDIUM: Priority.P4, Urgency.LOW: Priority.P4},
}

# Alertmanager/Grafana severities, as the floor they put under a ticket's priority.
DEFAULT_SEVERITY_FLOOR: dict[str, Priority] = {
    "critical": Priority.P1,
    "error": Priority.P2,
    "major": Priority.P2,
    "warning": Priority.P3,
    "minor": Priority.P3,
    "info": Priority.P4,
}

# Words that mean an outage, in English and Vietnamese (with and without diacritics).
DEFAULT_OUTAGE_KEYWORDS: tuple[str, ...] = (
    "outage",
    "down",
    "data loss",
    "fire",
    "mất kết nối",
    "mat ket noi",
    "ngừng hoạt động",
    "sập",
    "cháy",
)


class PriorityPolicy(BaseModel):
    """The configurable policy; the defaults follow the seeds."""

    model_config = ConfigDict(frozen=True)

    matrix: dict[Impact, dict[Urgency, Priority]] = Field(default_factory=lambda: DEFAULT_MATRIX)
    severity_floor: dict[str, Priority] = Field(default_factory=lambda: DEFAULT_SEVERITY_FLOOR)
    outage_keywords: tuple[str, ...] = DEFAULT_OUTAGE_KEYWORDS
    outage_floor: Priority = Priority.P2
    # Contract tiers whose tickets are raised by N levels (never above P1).
    tier_raise: dict[str, int] = Field(default_factory=lambda: {"platinum": 1, "gold": 1})

    @model_validator(mode="after")
    def _matrix_complete(self) -> PriorityPolicy:
        for impact in Impact:
            for urgency in Urgency:
                if urgency not in self.matrix.get(impact, {}):
                    raise ValueError(f"matrix.{impact}.{urgency}: missing")
        return self


class PriorityDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    priority: Priority
    reasons: tuple[str, ...]


@cache
def _keyword(word: str) -> tuple[str, re.Pattern[str]]:
    """The folded keyword and its whole-word pattern, compiled once (assessed for every ticket)."""
    folded = word.casefold()
    return folded, re.compile(rf"(?<!\w){re.escape(folded)}(?!\w)")


def _has_keyword(text: str, keywords: tuple[str, ...]) -> str | None:
    lowered = text.casefold()
    for word in keywords:
        folded, pattern = _keyword(word)
        if folded in lowered and pattern.search(lowered):
            return word
    return None


def assess(
    policy: PriorityPolicy,
    impact: Impact,
    urgency: Urgency,
    *,
    alert_severity: str | None = None,
    text: str = "",
    contract_tier: str | None = None,
) -> PriorityDecision:
    """Matrix first, then each rule may raise the priority; reasons list every step."""
    priority = policy.matrix[impact][urgency]
    reasons = [f"matrix: impact {impact}, urgency {urgency} -> {priority}"]

    def raise_to(floor: Priority, why: str) -> None:
        nonlocal priority
        if floor.rank < priority.rank:
            priority = floor
            reasons.append(f"{why} -> {floor}")

    if alert_severity:
        floor = policy.severity_floor.get(alert_severity.casefold())
        if floor:
            raise_to(floor, f"alert severity {alert_severity}")
    word = _has_keyword(text, policy.outage_keywords)
    if word:
        raise_to(policy.outage_floor, f"outage keyword {word!r}")
    levels = policy.tier_raise.get((contract_tier or "").casefold(), 0)
    if levels:
        raise_to(Priority.of_rank(priority.rank - levels), f"contract tier {contract_tier}")
    return PriorityDecision(priority=priority, reasons=tuple(reasons))
