"""Passwords: argon2id, argon2-cffi's defaults (RFC 9106's second recommended profile). Session
tokens are signed: core.agents.domain.tokens."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the agent does not exist, so "unknown agent" and "wrong password"
    take the same time. Made on first use: an argon2 hash costs tens of milliseconds and 64 MiB,
    which every `ccdr` command importing this module would otherwise pay at start-up."""
    return _hasher.hash("not-a-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
