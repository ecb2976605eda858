"""The one small exception hierarchy of the services. Pure: HTTP mapping lives in core.http.problems.

Each error carries a stable `code` (the last part of its problem type URI), a title and a
status, so clients and tests can rely on them; messages say what was wrong and how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    field: str  # dotted path, e.g. "contact.email"
    message: str


def field_errors(errors: Iterable[Mapping[str, Any]], skip_prefix: tuple[str, ...] = ()) -> list[FieldError]:
    """pydantic's error list as dotted field names ("contact.email") and messages.

    `skip_prefix` drops leading location parts that are not fields (FastAPI's "body").
    """
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        while loc and loc[0] in skip_prefix:
            loc = loc[1:]
        out.append(FieldError(".".join(loc) or "(body)", str(err.get("msg", "invalid"))))
    return out


class CcdrError(Exception):
    code = "error"
    title = "Error"
    status = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def extensions(self) -> dict[str, object]:
        return {}


class InvalidInput(CcdrError):
    """The request was understood but a field is wrong (422) or it is malformed (400)."""

    code = "invalid-input"
    title = "Invalid input"
    status = 422

    def __init__(self, detail: str, errors: list[FieldError] | None = None, *, malformed: bool = False) -> None:
        super().__init__(detail)
        self.errors = errors or []
        if malformed:
            self.code, self.title, self.status = "malformed-request", "Malformed request", 400

    def extensions(self) -> dict[str, object]:
        return {"errors": [{"field": e.field, "message": e.message} for e in self.errors]}


class BadSignature(CcdrError):
    code = "bad-signature"
    title = "Signature or token check failed"
    status = 401


class Unauthenticated(CcdrError):
    """No valid agent session (401): missing, expired, revoked or unknown token, or bad credentials."""

    code = "unauthenticated"
    title = "Authentication required"
    status = 401


class Forbidden(CcdrError):
    """Authenticated, but the agent's role does not allow this (403)."""

    code = "forbidden"
    title = "Not allowed for this role"
    status = 403


class PayloadTooLarge(CcdrError):
    code = "payload-too-large"
    title = "Payload too large"
    status = 413


class UnsupportedMediaType(CcdrError):
    code = "unsupported-media-type"
    title = "Unsupported media type"
    status = 415


class NotFound(CcdrError):
    code = "not-found"
    title = "Not found"
    status = 404


class Conflict(CcdrError):
    """The request conflicts with the current state (409); `allowed` lists what would not."""

    code = "conflict"
    title = "Conflict with the current state"
    status = 409

    def __init__(self, detail: str, allowed: list[str] | None = None) -> None:
        super().__init__(detail)
        self.allowed = allowed

    def extensions(self) -> dict[str, object]:
        return {} if self.allowed is None else {"allowed": self.allowed}


class TooManyRequests(CcdrError):
    """Refused for a while (429 + Retry-After): e.g. too many failed sign-ins; nothing was checked."""

    code = "too-many-requests"
    title = "Too many attempts: wait and retry"
    status = 429

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class Unavailable(CcdrError):
    """A dependency could not answer in time (503): retriable; nothing was acknowledged."""

    code = "unavailable"
    title = "Temporarily unavailable"
    status = 503

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class Overloaded(Unavailable):
    """Refused at once because the service is at capacity (503 + Retry-After): nothing was
    accepted; retry later, or at the other site."""

    code = "overloaded"
    title = "At capacity: retry later"
