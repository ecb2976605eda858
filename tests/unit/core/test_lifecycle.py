"""A service whose loop fails stops its other loops and ends its process, even when one of them
will not stop: supervisord restarts a process that exits, not one that lingers half-alive."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest

from core import lifecycle
from core.lifecycle import EXIT_FAILED, run_together


class Boom(RuntimeError):
    pass


def test_a_failed_loop_cancels_the_others_and_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    armed: list[str] = []
    monkeypatch.setattr(lifecycle, "end_process_unless_stopped", lambda within_s, why: armed.append(why))
    cancelled = asyncio.Event()

    async def fails() -> None:
        await asyncio.sleep(0.01)
        raise Boom("consumer crashed")

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def main() -> None:
        await run_together({"consumer": fails(), "relay": forever()}, stop_within_s=60)

    with pytest.raises(ExceptionGroup) as raised:
        asyncio.run(main())
    assert raised.group_contains(Boom)
    assert cancelled.is_set()
    assert armed == ["consumer failed"]


def test_a_loop_that_returns_stops_the_others_too(monkeypatch: pytest.MonkeyPatch) -> None:
    armed: list[str] = []
    monkeypatch.setattr(lifecycle, "end_process_unless_stopped", lambda within_s, why: armed.append(why))

    async def returns() -> None:
        await asyncio.sleep(0.01)

    async def forever() -> None:
        await asyncio.sleep(3600)

    async def main() -> None:
        await run_together({"relay": returns(), "consumer": forever()}, stop_within_s=60)

    with pytest.raises(ExceptionGroup) as raised:
        asyncio.run(main())
    assert raised.group_contains(lifecycle.LoopReturned)
    assert armed == ["relay stopped"]


def test_the_process_ends_when_a_loop_ignores_its_cancellation() -> None:
    script = textwrap.dedent(
        """
        import asyncio
        from core.lifecycle import run_together

        async def fails():
            await asyncio.sleep(0.01)
            raise RuntimeError("consumer crashed")

        async def deaf():
            while True:
                try:
                    await asyncio.sleep(0.05)
                except asyncio.CancelledError:
                    pass  # the bug this guards against: a loop that swallows its cancellation

        asyncio.run(run_together({"consumer": fails(), "relay": deaf()}, stop_within_s=0.5))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == EXIT_FAILED, done.stderr
    assert "consumer failed" in done.stderr
    assert "orderly shutdown hung" in done.stderr
