"""What the database cannot store is refused where it enters, naming the field."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from core.agents.http.schemas import LoginRequest
from core.domain.text import storable, unstorable
from core.tickets.http.schemas import ResolutionRequest, TransitionRequest, WorklogRequest


@pytest.mark.parametrize("text", ["a\x00b", "\x00", "x\ud800y", "\udfff"])
def test_nul_and_lone_surrogates_are_unstorable(text: str) -> None:
    assert unstorable(text) is not None
    with pytest.raises(ValueError, match=r"NUL|surrogate"):
        storable(text)


@pytest.mark.parametrize("text", ["", "Mất kết nối core switch", "emoji 🚑 ok", "tab\tand\nnewline"])
def test_ordinary_text_is_storable(text: str) -> None:
    assert unstorable(text) is None and storable(text) == text


@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        (WorklogRequest, {"note": "gọi\x00khách"}, "note"),
        (TransitionRequest, {"to": "acknowledged", "note": "x\ud800"}, "note"),
        (ResolutionRequest, {"root_cause": "PSU\x00", "actions_taken": "thay nguồn"}, "root_cause"),
        (LoginRequest, {"agent_id": "an\x00", "password": "x"}, "agent_id"),
    ],
)
def test_every_request_body_refuses_them_naming_the_field(
    model: type[BaseModel], body: dict[str, str], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(body)
    assert field in str(refused.value)
