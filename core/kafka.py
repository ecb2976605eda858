"""Starting aiokafka clients the same way everywhere."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol, TypeVar

from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)
RETRY_S = 1.0


class _Client(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


C = TypeVar("C", bound=_Client)


async def start_when_reachable(make: Callable[[], C], what: str) -> C:
    """Create and start a client, retrying until Kafka answers: services come up before Kafka
    does after a site restart. `make` runs here because aiokafka clients belong to the running
    loop, and a client whose start failed cannot be started again."""
    while True:
        client = make()
        try:
            await client.start()
        except KafkaError as exc:
            log.warning("%s: kafka not reachable yet: %s", what, exc)
            await client.stop()
            await asyncio.sleep(RETRY_S)
        else:
            log.info("%s: connected to kafka", what)
            return client
