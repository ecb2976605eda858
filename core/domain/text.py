"""Text that PostgreSQL can store: no NUL (refused in `text` and `jsonb`) and no lone UTF-16
surrogate (not encodable as UTF-8). Every request model and free-text query parameter of the
ticket and agent APIs, and the console's forms, pass through here, so such input is a clear 422
naming the field instead of a 500 from the database. Pure."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, field_validator

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def unstorable_reasons(value: str) -> list[str]:
    """Every reason `value` cannot be stored (empty: it can)."""
    reasons = []
    if "\x00" in value:
        reasons.append("contains a NUL character (U+0000), which cannot be stored")
    if _LONE_SURROGATE.search(value):
        reasons.append("contains a lone UTF-16 surrogate (U+D800..U+DFFF), which is not valid Unicode")
    return reasons


def unstorable(value: str) -> str | None:
    """Why `value` cannot be stored, or None."""
    reasons = unstorable_reasons(value)
    return reasons[0] if reasons else None


def storable(value: str) -> str:
    problem = unstorable(value)
    if problem:
        raise ValueError(problem)
    return value


StorableText = Annotated[str, AfterValidator(storable)]


def _strings(value: Any, path: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, BaseModel):
        return [s for name in type(value).model_fields for s in _strings(getattr(value, name), f"{path}.{name}")]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [*_strings(k, path), *_strings(v, f"{path}.{k}")]]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [s for i, v in enumerate(value) for s in _strings(v, f"{path}[{i}]")]
    return []


class StorableModel(BaseModel):
    """A request body whose every string, however deep, can be stored (the error names the field)."""

    @field_validator("*", mode="after")
    @classmethod
    def _every_string_storable(cls, value: Any) -> Any:
        for path, text in _strings(value, ""):
            problem = unstorable(text)
            if problem:
                raise ValueError(f"{path.lstrip('.')} {problem}".strip())
        return value
