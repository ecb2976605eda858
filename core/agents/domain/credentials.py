"""Passwords: argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane). Session tokens
are signed: core.agents.domain.tokens.

Why not argon2-cffi's default (RFC 9106's low-memory profile, 64 MiB, 3 passes, 4 lanes): after a
site loss every agent of that site signs in at the other at once, and on the lab's two cores 60
sign-ins took 8.5 s to all get in with it (181 ms per check) against the 5 s the desk needs; OWASP's
profile costs 29 ms a check here. A hash keeps the parameters it was made with, so older hashes
still verify."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_LANES = 1
_hasher = PasswordHasher(time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_LANES)


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
