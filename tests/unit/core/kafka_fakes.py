"""Stand-ins for aiokafka producers in unit tests of pure logic around them."""

from __future__ import annotations

import asyncio

from aiokafka.errors import OutOfOrderSequenceNumber


class DeadProducer:
    """aiokafka's idempotent producer after OutOfOrderSequenceNumber: every send raises it."""

    stopped = False

    async def send(self, topic: str, **_: object) -> asyncio.Future[None]:
        raise OutOfOrderSequenceNumber()

    async def stop(self) -> None:
        self.stopped = True
