"""Intake's HTTP layer on an in-memory bus, shared by the intake unit tests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.agents.sessions import SessionCheck
from core.errors import Unavailable
from core.intake.app import create_app
from core.intake.domain.schemas import IntakeEvent
from core.settings import ServiceSettings
from infra.lab.layout import SiteDirs
from infra.lab.render import service_settings
from infra.topology import load_topology
from tests.fakes import memory_sessions
from tests.unit.infra.test_render import SECRETS


class MemoryBus:
    """An IntakeBus that keeps events in a list, or refuses like a Kafka that cannot ack."""

    def __init__(self) -> None:
        self.events: list[IntakeEvent] = []
        self.down = False

    async def publish(self, events: Sequence[IntakeEvent]) -> None:
        if self.down:
            raise Unavailable("the event bus did not acknowledge", 3)
        self.events.extend(events)

    def not_ready(self) -> str | None:
        return "down" if self.down else None


@pytest.fixture
def bus() -> MemoryBus:
    return MemoryBus()


@pytest.fixture
def sessions() -> SessionCheck:
    return memory_sessions()


@pytest.fixture
def client(bus: MemoryBus, sessions: SessionCheck) -> Iterator[TestClient]:
    settings = ServiceSettings.model_validate(
        service_settings(load_topology(), "a", SECRETS, SiteDirs(Path("/tmp/ccdr-test-site-a")))
    )
    with TestClient(create_app(settings, bus, side_listeners=False, sessions=sessions)) as c:
        yield c
