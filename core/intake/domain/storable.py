"""What intake accepts, the store accepts: the limits of PostgreSQL and Kafka, checked on the
event before it is acknowledged. Pure: no I/O.

A 202 is a promise the ticket service must be able to keep. PostgreSQL refuses NUL in `text` and
`\\u0000` in `jsonb`; UTF-8 cannot encode a lone surrogate; Python cannot read back a timestamp
past year 9999 (or before year 1 after a time-zone shift); Kafka refuses a record above the
topic's `max.message.bytes`. Every channel's events pass through `problems` in
`IntakeService.build`, and the ticket service applies the same check to what it reads, so an
event written by anything else cannot stall the pipeline either (it is quarantined).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from core.domain.text import unstorable_reasons
from core.errors import FieldError


@dataclass(frozen=True)
class StoreLimits:
    """The store's limits, as intake enforces them (configured from the topology's [intake])."""

    max_text_chars: int = 20_000  # the longest free text a ticket keeps (the description)
    max_event_bytes: int = 512 * 1024  # well under Kafka's default max.message.bytes (1 MiB)
    max_age: timedelta = timedelta(days=3650)  # an event time older than this is a sender's bug
    max_skew: timedelta = timedelta(days=1)  # an event time this far ahead of our clock is too


def problems(event: BaseModel, received_at: datetime, limits: StoreLimits) -> list[FieldError]:
    """Every value of `event` the store could not keep, by dotted field path (empty: storable)."""
    found: list[FieldError] = []
    earliest, latest = received_at - limits.max_age, received_at + limits.max_skew
    for path, value in _leaves(event.model_dump(mode="python"), ""):
        if isinstance(value, str):
            found.extend(_text_problems(path, value, limits))
        elif isinstance(value, datetime) and not earliest <= value <= latest:
            found.append(
                FieldError(
                    path,
                    f"{value.isoformat()} is outside the accepted window "
                    f"{earliest:%Y-%m-%d} .. {latest:%Y-%m-%d} (a wrong clock or a placeholder date?)",
                )
            )
    if not found:
        size = len(event.model_dump_json().encode())
        if size > limits.max_event_bytes:
            found.append(
                FieldError("(body)", f"the event is {size} bytes once normalised; at most {limits.max_event_bytes}")
            )
    return found


def describe(found: list[FieldError]) -> str:
    """The problems in one line, e.g. 'description contains a NUL character ...'."""
    return "; ".join(f"{e.field} {e.message}" for e in found)


def _text_problems(path: str, value: str, limits: StoreLimits) -> Iterator[FieldError]:
    for reason in unstorable_reasons(value):
        yield FieldError(path, reason)
    if len(value) > limits.max_text_chars:
        yield FieldError(path, f"is {len(value)} characters long; at most {limits.max_text_chars}")


def printable(text: str) -> str:
    """`text` with what the store cannot keep escaped (NUL as \\x00, a lone surrogate as \\udXXX):
    safe to store, to log and to echo in an error, however bad the input it quotes."""
    return text.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\x00")


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(dotted path, leaf) of a dumped model; dict keys are checked as text too."""
    if isinstance(value, dict):
        for key, item in value.items():
            name = printable(str(key))
            child = f"{path}.{name}" if path else name
            if isinstance(key, str):
                yield f"{child} (key)", key
            yield from _leaves(item, child)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}.{index}" if path else str(index))
    else:
        yield path, value
