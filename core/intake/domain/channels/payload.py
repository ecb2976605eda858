"""JSON webhook bodies: parse, then validate, with errors that say what and where. Pure."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from core.errors import InvalidInput, field_errors

M = TypeVar("M", bound=BaseModel)


def load_json_object(body: bytes, what: str) -> dict[str, Any]:
    """The body as a JSON object, or InvalidInput(malformed) saying why it is not one."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(f"the {what} body is not valid JSON: {exc}", malformed=True) from None
    if not isinstance(data, dict):
        raise InvalidInput(f"the {what} body must be a JSON object, got {type(data).__name__}", malformed=True)
    return data


def validated(model: type[M], data: dict[str, Any], what: str) -> M:
    """`model` from `data`, or InvalidInput (422) naming each wrong field by its dotted path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_input(exc, what) from None


def invalid_input(exc: ValidationError, what: str) -> InvalidInput:
    """A pydantic refusal as the sender's bad input (422), naming each wrong field."""
    errors = field_errors(exc.errors())
    return InvalidInput(f"invalid {what} payload: " + "; ".join(f"{e.field}: {e.message}" for e in errors), errors)


def parse_json(model: type[M], body: bytes, what: str) -> M:
    return validated(model, load_json_object(body, what), what)
