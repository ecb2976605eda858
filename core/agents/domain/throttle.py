"""How many failed sign-ins are tolerated before more attempts are refused for a while. Pure.

Counted from the login audit (shared by both sites through the database) per client address: for
one agent ID from that client — known or not, so guessing at one account is slowed — and for any
agent from that client, so spraying many accounts from one place is slowed too. Not per agent ID
from everywhere: anyone could then lock an engineer out of the desk in a crisis by failing five
times. A refused attempt does not reach the password check at all."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LoginLimits:
    max_failures_per_agent: int
    max_failures_per_client: int
    window: timedelta


@dataclass(frozen=True)
class RecentFailures:
    """Failed sign-ins in the window: how many, and the oldest of them."""

    agent: int
    agent_oldest: datetime | None
    client: int
    client_oldest: datetime | None


def retry_after_s(failures: RecentFailures, limits: LoginLimits, now: datetime) -> int | None:
    """None: this attempt may go ahead. Otherwise the seconds until the oldest counted failure
    leaves the window (at least 1)."""
    waits = []
    if failures.agent >= limits.max_failures_per_agent and failures.agent_oldest is not None:
        waits.append(failures.agent_oldest + limits.window - now)
    if failures.client >= limits.max_failures_per_client and failures.client_oldest is not None:
        waits.append(failures.client_oldest + limits.window - now)
    if not waits:
        return None
    return max(1, math.ceil(max(waits).total_seconds()))
