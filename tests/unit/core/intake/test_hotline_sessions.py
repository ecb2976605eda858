"""Hotline and walk-in intakes are entered by a signed-in agent, and recorded as that agent."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from core.agents.domain.model import Role
from core.agents.domain.revocations import Revocations
from core.agents.domain.tokens import token_hash
from core.agents.sessions import SessionCheck
from tests.fakes import agent_token, memory_sessions
from tests.unit.core.intake.conftest import MemoryBus

CALL = {
    "contact": {"name": "Trần Thị Bích"},
    "subject": "Mất mạng ở chi nhánh",
    "caller_number": "+84901234567",
    "call_id": "pbx-42",
}


def post(
    client: TestClient, channel: str, body: Mapping[str, object], token: str | None
) -> tuple[int, dict[str, object]]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    r = client.post(f"/v1/intake/{channel}", content=json.dumps(body), headers=headers)
    return r.status_code, r.json()


@pytest.mark.parametrize("channel", ["hotline", "walk_in"])
def test_the_agent_is_the_sessions_not_the_forms(
    client: TestClient, bus: MemoryBus, sessions: SessionCheck, channel: str
) -> None:
    status, body = post(client, channel, CALL, agent_token(sessions, "chi.le", Role.AGENT_L2))
    assert status == 202, body
    (event,) = bus.events
    assert event.call is not None and event.call.agent_id == "chi.le"


@pytest.mark.parametrize(
    ("token", "status", "words"),
    [
        (None, 401, "Bearer"),
        ("not-a-token", 401, "refused"),
    ],
)
def test_without_a_valid_session_nothing_is_taken(
    client: TestClient, bus: MemoryBus, token: str | None, status: int, words: str
) -> None:
    code, body = post(client, "hotline", {**CALL, "agent_id": "an.nguyen"}, token)
    assert code == status and words in str(body["detail"])
    assert bus.events == []


def test_naming_another_agent_in_the_form_is_refused(
    client: TestClient, bus: MemoryBus, sessions: SessionCheck
) -> None:
    code, body = post(client, "hotline", {**CALL, "agent_id": "hoa.ngo"}, agent_token(sessions, "an.nguyen"))
    assert code == 403 and "hoa.ngo" in str(body["detail"])
    assert bus.events == []


def test_an_auditor_takes_no_calls(client: TestClient, bus: MemoryBus, sessions: SessionCheck) -> None:
    code, _ = post(client, "hotline", CALL, agent_token(sessions, "lan.mai", Role.AUDITOR))
    assert code == 403 and bus.events == []


def test_a_revoked_session_is_refused() -> None:
    signer = memory_sessions()
    token = agent_token(signer, "an.nguyen")
    revoked = memory_sessions(Revocations(read_at=datetime.now(UTC), tokens=frozenset({token_hash(token)})))
    with pytest.raises(Exception, match="logged out"):
        revoked.session(token)
