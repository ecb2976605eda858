"""Run a service's loops as one unit, and make sure a failed service ends its process.

supervisord restarts a process that exits, not one that lingers half-alive. A ticket worker whose
consumer had crashed kept running with a closed pool (its outbox relay retrying every 250 ms) and
kept reporting the partitions it held, so nothing restarted it and `ccdr lab up` waited in vain."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)
EXIT_FAILED = 70  # EX_SOFTWARE: the service failed; supervisord starts it again


def end_process_unless_stopped(within_s: float, why: str) -> threading.Timer:
    """Arm a timer that ends the process if its orderly shutdown has not done so `within_s` later
    (a task that ignores its cancellation, a client whose stop hangs)."""

    def end() -> None:
        log.critical("%s; the orderly shutdown hung for %.0f s, ending the process", why, within_s)
        logging.shutdown()
        os._exit(EXIT_FAILED)

    timer = threading.Timer(within_s, end)
    timer.daemon = True
    timer.start()
    return timer


async def run_together(loops: dict[str, Coroutine[Any, Any, None]], *, stop_within_s: float) -> None:
    """Run the named loops until one of them fails; then cancel the others and raise, and end the
    process if that takes longer than `stop_within_s`. A loop that returns is a failure too: each
    is meant to run until the process is stopped."""

    def watch(task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        why = f"{task.get_name()} stopped" if isinstance(exc, LoopReturned) else f"{task.get_name()} failed"
        log.critical("%s; stopping the service", why, exc_info=exc)
        end_process_unless_stopped(stop_within_s, why)

    async with asyncio.TaskGroup() as group:
        for name, loop in loops.items():
            group.create_task(_until_it_fails(name, loop), name=name).add_done_callback(watch)


class LoopReturned(RuntimeError):
    """A loop meant to run until the process stops has returned."""


async def _until_it_fails(name: str, loop: Coroutine[Any, Any, None]) -> None:
    await loop
    raise LoopReturned(f"{name} returned; it is meant to run until the process stops")  # the TaskGroup stops the others
