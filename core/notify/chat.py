"""The way out for replies on chat: each platform's HTTP API (httpx), as core.notify.domain.chat
describes its request and answer."""

from __future__ import annotations

from typing import Any

import httpx

from core.notify.domain.chat import ChatRequest, Outcome, chat_request, outcome
from core.notify.domain.rules import ChatTarget
from core.notify.mail import Refused
from core.settings import ChatReplies


class ChatUnavailable(Exception):
    """The platform did not take the reply this time (away, busy, rate-limited): try again later."""


class ChatApis:
    def __init__(self, settings: ChatReplies) -> None:
        self._settings = settings
        verify: Any = settings.ca_file if settings.ca_file else True
        self._http = httpx.AsyncClient(timeout=settings.timeout_s, verify=verify)

    def _where(self, platform: str, request: ChatRequest) -> tuple[str, dict[str, str]]:
        s = self._settings
        if platform == "slack":
            return s.slack_api_url + request.path, {"Authorization": f"Bearer {s.slack_bot_token.get_secret_value()}"}
        return s.zalo_api_url + request.path, {"access_token": s.zalo_oa_access_token.get_secret_value()}

    async def send(self, target: ChatTarget, text: str) -> None:
        """Post one reply. Raises Refused when the platform will never take it, ChatUnavailable
        (or httpx.TransportError) when it did not this time."""
        request = chat_request(target, text)
        url, headers = self._where(target.platform, request)
        response = await self._http.post(url, json=request.body, headers=headers)
        try:
            body = response.json()
        except ValueError:
            body = None
        verdict, detail = outcome(target.platform, response.status_code, body)
        if verdict is Outcome.REFUSED:
            raise Refused(f"{target.platform}: {detail}")
        if verdict is Outcome.RETRY:
            raise ChatUnavailable(f"{target.platform}: {detail}")

    async def close(self) -> None:
        await self._http.aclose()
