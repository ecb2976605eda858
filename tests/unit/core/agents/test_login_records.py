from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import uuid4

from core.agents.domain.logins import LoginRecord
from core.agents.login_records import LoginRecorder


def rec(n: int) -> LoginRecord:
    return LoginRecord(uuid4(), f"agent{n}", "a", "a", "ok", None, datetime.now(UTC))


def test_a_sign_in_waits_for_its_record_while_the_primary_answers() -> None:
    written: list[LoginRecord] = []

    async def write(batch: Sequence[LoginRecord]) -> None:
        written.extend(batch)

    async def main() -> bool:
        recorder = LoginRecorder(write, retry_s=0.01)
        task = asyncio.create_task(recorder.run())
        done = await recorder.record(rec(1), wait_s=1)
        task.cancel()
        return done

    assert asyncio.run(main()) is True
    assert [r.agent_id for r in written] == ["agent1"]


def test_while_the_primary_is_away_a_sign_in_goes_on_and_its_record_is_written_later_once() -> None:
    written: list[LoginRecord] = []
    primary_up = asyncio.Event()

    async def write(batch: Sequence[LoginRecord]) -> None:
        if not primary_up.is_set():
            raise OSError("connection refused")
        written.extend(batch)

    async def main() -> tuple[bool, list[str], list[str]]:
        recorder = LoginRecorder(write, retry_s=0.01)
        task = asyncio.create_task(recorder.run())
        answered = await recorder.record(rec(1), wait_s=0.05)
        await recorder.record(rec(2), wait_s=0)
        pending = [r.agent_id for r in recorder.unwritten]  # what the throttle still counts
        primary_up.set()
        for _ in range(200):
            if not recorder.unwritten:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        return answered, pending, [r.agent_id for r in written]

    answered, pending, written_ids = asyncio.run(main())
    assert answered is False  # the sign-in did not wait for the primary
    assert pending == ["agent1", "agent2"]
    assert written_ids == ["agent1", "agent2"]
