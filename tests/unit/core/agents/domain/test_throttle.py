"""Failed sign-ins per agent ID and per client address, and how long a throttled one waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.agents.domain.throttle import LoginLimits, RecentFailures, retry_after_s

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
LIMITS = LoginLimits(max_failures_per_agent=5, max_failures_per_client=30, window=timedelta(minutes=5))


def _failures(agent: int = 0, client: int = 0, oldest_s: float = 60) -> RecentFailures:
    oldest = NOW - timedelta(seconds=oldest_s)
    return RecentFailures(agent, oldest if agent else None, client, oldest if client else None)


def test_below_both_limits_the_attempt_goes_ahead() -> None:
    assert retry_after_s(_failures(agent=4, client=29), LIMITS, NOW) is None


def test_at_the_agent_limit_it_waits_until_the_oldest_failure_leaves_the_window() -> None:
    assert retry_after_s(_failures(agent=5, oldest_s=60), LIMITS, NOW) == 240


def test_at_the_client_limit_it_waits_too_whatever_the_account() -> None:
    assert retry_after_s(_failures(client=30, oldest_s=299.5), LIMITS, NOW) == 1


def test_a_wait_is_never_zero() -> None:
    assert retry_after_s(_failures(agent=9, oldest_s=300), LIMITS, NOW) == 1
