from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from core.agents.domain.logins import LoginRecord, with_unwritten
from core.agents.domain.throttle import RecentFailures

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
SINCE = NOW - timedelta(minutes=5)


def rec(agent: str, outcome: str, client: str | None, at: datetime) -> LoginRecord:
    return LoginRecord(uuid4(), agent, "a", "b", outcome, client, at)


def test_unwritten_failures_count_like_written_ones() -> None:
    written = RecentFailures(agent=1, agent_oldest=NOW - timedelta(minutes=3), client=2, client_oldest=NOW)
    unwritten = [
        rec("an", "bad_credentials", "10.0.0.1", NOW - timedelta(minutes=4)),  # this agent, this client
        rec("binh", "throttled", "10.0.0.1", NOW - timedelta(minutes=1)),  # another agent, this client
        rec("an", "ok", "10.0.0.1", NOW),  # not a failure
        rec("an", "bad_credentials", "10.0.0.2", NOW),  # another client
        rec("an", "bad_credentials", "10.0.0.1", NOW - timedelta(minutes=6)),  # out of the window
    ]
    got = with_unwritten(written, unwritten, "an", "10.0.0.1", SINCE)
    assert got == RecentFailures(
        agent=2, agent_oldest=NOW - timedelta(minutes=4), client=4, client_oldest=NOW - timedelta(minutes=4)
    )


def test_without_a_client_address_nothing_unwritten_counts_as_in_sql() -> None:
    written = RecentFailures(0, None, 0, None)
    got = with_unwritten(written, [rec("an", "bad_credentials", None, NOW)], "an", None, SINCE)
    assert got == written


def test_remote_means_signed_in_away_from_home() -> None:
    assert rec("an", "ok", None, NOW).remote
    assert not LoginRecord(uuid4(), "an", None, "b", "bad_credentials", None, NOW).remote
