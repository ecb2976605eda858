"""What a token's signature cannot say: whether it was revoked since it was issued. Pure.

A snapshot of the revocations in force, read from any database node: single sessions ended by
logout (by token hash), and per agent a moment before which every token is void (set when all of
an agent's sessions are revoked, so a session recorded late — issued while the primary was away —
is caught too) or the whole account when it is disabled."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.agents.domain.model import Session


@dataclass(frozen=True)
class Revocations:
    read_at: datetime
    tokens: frozenset[bytes] = frozenset()  # SHA-256 of revoked, unexpired tokens
    not_before: dict[str, datetime] = field(default_factory=dict)  # agent -> tokens issued before are void
    disabled: frozenset[str] = frozenset()  # agents whose accounts are disabled

    def refusal(self, session: Session, token_hash: bytes) -> str | None:
        """Why this session no longer counts, or None if it still does."""
        agent = session.agent.id
        if agent in self.disabled:
            return "this account is disabled"
        if token_hash in self.tokens:
            return "the token was revoked (logged out): log in again"
        cutoff = self.not_before.get(agent)
        if cutoff is not None and session.issued_at <= cutoff:
            return "the agent's sessions were revoked: log in again"
        return None
