"""Checks an agent's session token anywhere (ticket API, console, intake): the signature and
expiry (core.agents.domain.tokens), then the revocations in force (core.agents.revocation_watch).
No database round trip: this works at a site that has just lost the primary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from core.agents.domain.model import Session
from core.agents.domain.tokens import SessionTokens, TokenRefused, token_hash
from core.agents.revocation_watch import NotLoaded, RevocationWatch
from core.agents.store.pg import revocations_reader
from core.errors import Unauthenticated, Unavailable
from core.settings import ServiceSettings

NOT_LOADED_RETRY_AFTER_S = 2


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.casefold() == "bearer" and token.strip() else None


@dataclass(frozen=True)
class SessionCheck:
    tokens: SessionTokens
    revocations: RevocationWatch

    def session(self, token: str | None, now: datetime | None = None) -> Session:
        if not token:
            raise Unauthenticated("send the token from POST /v1/agents/login as `Authorization: Bearer <token>`")
        try:
            session = self.tokens.check(token, now or datetime.now(UTC))
        except TokenRefused as exc:
            raise Unauthenticated(f"the token is refused ({exc}): log in again") from None
        try:
            why = self.revocations.current.refusal(session, token_hash(token))
        except NotLoaded:
            raise Unavailable(
                "sessions cannot be checked yet: this site has not read the revocation list", NOT_LOADED_RETRY_AFTER_S
            ) from None
        if why is not None:
            raise Unauthenticated(why)
        return session


def session_check(settings: ServiceSettings, reads: AsyncConnectionPool[Any]) -> SessionCheck:
    """The check as configured; its revocation list is refreshed by running `revocations.run()`."""
    keys = settings.sessions
    signing = keys.signing_key.get_secret_value() if keys.signing_key else None
    watch = RevocationWatch(revocations_reader(reads), settings.agents.revocation_refresh_s)
    return SessionCheck(SessionTokens(keys.public_keys, signing), watch)
