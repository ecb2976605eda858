"""A bound on request bodies (ASGI middleware): a declared Content-Length over the limit is refused
before anything is read, and a body that streams past it is cut off. Either way the answer is a
413 problem+json (core.errors.PayloadTooLarge) and the handler never sees a partial body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import PayloadTooLarge
from core.http.problems import problem_response


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int, per_path: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.per_path = dict(per_path or {})  # path prefix -> its own limit (e.g. a roster upload)

    def limit_for(self, path: str) -> int:
        return next((n for prefix, n in self.per_path.items() if path.startswith(prefix)), self.limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            error = PayloadTooLarge(f"the body is {int(declared)} bytes; at most {limit} are accepted here")
            await problem_response(error, scope["path"])(scope, receive, send)
            return
        received = 0

        async def bounded() -> Message:
            nonlocal received
            message: dict[str, Any] = dict(await receive())
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:  # the app's problem handler turns it into a 413
                    raise PayloadTooLarge(f"the body exceeds {limit} bytes")
            return message

        await self.app(scope, bounded, send)
