"""The way out for replies on chat: each platform's HTTP API (httpx), as core.notify.domain.chat
describes its request and answer."""

from __future__ import annotations

import time
from typing import Any

import httpx

from core.notify.domain.chat import ChatRequest, Outcome, chat_request, outcome
from core.notify.domain.rules import ChatTarget
from core.notify.mail import Refused
from core.settings import ChatReplies

TOKEN_MARGIN_S = 60  # a token is renewed this long before it expires


class ChatUnavailable(Exception):
    """The platform did not take the reply this time (away, busy, rate-limited): try again later."""


class ChatApis:
    def __init__(self, settings: ChatReplies) -> None:
        self._settings = settings
        verify: Any = settings.ca_file if settings.ca_file else True
        self._http = httpx.AsyncClient(timeout=settings.timeout_s, verify=verify)
        self._teams_token: tuple[str, float] | None = None  # (token, monotonic expiry)

    async def _where(self, platform: str, request: ChatRequest) -> tuple[str, dict[str, str]]:
        s = self._settings
        if platform == "slack":
            return s.slack_api_url + request.path, {"Authorization": f"Bearer {s.slack_bot_token.get_secret_value()}"}
        if platform == "teams":
            return s.teams_service_url.rstrip("/") + request.path, {"Authorization": f"Bearer {await self._token()}"}
        return s.zalo_api_url + request.path, {"access_token": s.zalo_oa_access_token.get_secret_value()}

    async def _token(self) -> str:
        """The bot's bearer token, kept until a minute before it expires."""
        if self._teams_token is not None and time.monotonic() < self._teams_token[1]:
            return self._teams_token[0]
        s = self._settings
        form = {
            "grant_type": "client_credentials",
            "client_id": s.teams_app_id,
            "client_secret": s.teams_app_password.get_secret_value(),
            "scope": s.teams_scope,
        }
        response = await self._http.post(s.teams_token_url, data=form)
        if response.status_code != 200:
            raise ChatUnavailable(f"teams: no token (HTTP {response.status_code})")  # our credential: try again
        body = response.json()
        token, lifetime = str(body["access_token"]), float(body.get("expires_in", 3600))
        self._teams_token = (token, time.monotonic() + max(lifetime - TOKEN_MARGIN_S, 0))
        return token

    async def send(self, target: ChatTarget, text: str) -> None:
        """Post one reply. Raises Refused when the platform will never take it, ChatUnavailable
        (or httpx.TransportError) when it did not this time."""
        request = chat_request(target, text)
        url, headers = await self._where(target.platform, request)
        response = await self._http.post(url, json=request.body, headers=headers)
        try:
            body = response.json()
        except ValueError:
            body = None
        verdict, detail = outcome(target.platform, response.status_code, body)
        if verdict is Outcome.REFUSED:
            raise Refused(f"{target.platform}: {detail}")
        if verdict is Outcome.RETRY:
            if target.platform == "teams" and response.status_code in (401, 403):
                self._teams_token = None  # revoked or rotated: get a new one next time
            raise ChatUnavailable(f"{target.platform}: {detail}")

    async def close(self) -> None:
        await self._http.aclose()
