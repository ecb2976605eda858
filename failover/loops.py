"""The periodic loop every control loop here runs in."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def every(period: float, step: Callable[[], Awaitable[object]], what: str) -> None:
    """Call `step` every `period` seconds until cancelled; a failed tick is logged and retried, never fatal."""
    while True:
        started = time.monotonic()
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a failed tick is logged and retried, never fatal
            log.warning("%s: %s: %s", what, type(exc).__name__, exc)
        await asyncio.sleep(max(0.0, period - (time.monotonic() - started)))
