"""The ticket worker loads the SLA calendars before its consumer joins the group: the `holidays`
import takes seconds of CPU on a busy machine, and inside the first batch it held the event loop
past the group's session (a restored site's worker was dropped right after joining)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from core.settings import ServiceSettings
from core.tickets import worker
from infra.lab.layout import SiteDirs
from infra.lab.render import service_settings
from infra.topology import load_topology
from tests.unit.infra.test_render import SECRETS


def test_the_calendars_are_loaded_before_the_consumer_joins_the_group(monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []

    def holidays(years: list[int]) -> None:
        order.append("calendars")

    async def run_together(loops: dict[str, Coroutine[Any, Any, None]], *, stop_within_s: float) -> None:
        order.append("joins the group")  # the consumer's loop starts here, and joins first thing
        for loop in loops.values():
            loop.close()

    async def pool_open(self: Any, wait: bool = False) -> None:
        order.append("pool")

    async def pool_close(self: Any) -> None:
        return None

    monkeypatch.setattr(worker, "vietnam_holidays", holidays)
    monkeypatch.setattr(worker, "start_http_server", lambda *a, **k: None)
    monkeypatch.setattr(worker, "run_together", run_together)
    monkeypatch.setattr("psycopg_pool.AsyncConnectionPool.open", pool_open)
    monkeypatch.setattr("psycopg_pool.AsyncConnectionPool.close", pool_close)
    settings = ServiceSettings.model_validate(
        service_settings(load_topology(), "a", SECRETS, SiteDirs(Path("/tmp/ccdr-test-site-a")))
    )
    asyncio.run(worker.run(settings))
    assert order == ["calendars", "pool", "joins the group"]
