"""Agent session tokens: signed (EdDSA/Ed25519 JWTs), so any service at any site can check one
without the database — an agent gets in at the surviving site while the primary is still moving,
and intake can take a hotline call from a signed-in agent with no database at all.

What the signature alone cannot say is whether a token was revoked since: that is asked of a
`Revocations` snapshot (core.agents.domain.revocations), which the services keep refreshed from
any database node. Only the hash of a token is ever stored."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from core.agents.domain.model import Agent, Session

ALGORITHM = "EdDSA"
ISSUER = "ccdr"
SEED_BYTES = 32  # an Ed25519 private key is a 32-byte seed


class TokenRefused(ValueError):
    """The token is malformed, signed by an unknown key, tampered with or expired."""


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_signing_seed() -> str:
    """A fresh private key, as configuration holds it (base64url of the 32-byte seed)."""
    return b64(secrets.token_bytes(SEED_BYTES))


def public_key_of(seed: str) -> str:
    raw = Ed25519PrivateKey.from_private_bytes(unb64(seed)).public_key()
    return b64(raw.public_bytes(Encoding.Raw, PublicFormat.Raw))


def key_id(public_key: str) -> str:
    """Names the key in each token's header, so keys can be rotated: verifiers hold old and new."""
    return hashlib.sha256(unb64(public_key)).hexdigest()[:16]


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class Issued:
    token: str
    session: Session


class SessionTokens:
    """Issues (with the private key, held by the ticket API only) and checks (with the public
    keys, held by every service) agent session tokens."""

    def __init__(self, public_keys: list[str], signing_seed: str | None = None) -> None:
        if not public_keys:
            raise ValueError("at least one public key is needed to check tokens")
        self._verifiers: dict[str, Ed25519PublicKey] = {
            key_id(k): Ed25519PublicKey.from_public_bytes(unb64(k)) for k in public_keys
        }
        self._signer: tuple[str, Ed25519PrivateKey] | None = None
        if signing_seed is not None:
            public = public_key_of(signing_seed)
            if key_id(public) not in self._verifiers:
                raise ValueError("the signing key's public key is not among the public keys")
            self._signer = (key_id(public), Ed25519PrivateKey.from_private_bytes(unb64(signing_seed)))

    def issue(self, agent: Agent, site: str, now: datetime, ttl: timedelta) -> Issued:
        if self._signer is None:
            raise RuntimeError("this service holds no signing key: only the ticket API issues sessions")
        kid, key = self._signer
        # iat to the microsecond (RFC 7519 allows a fraction): "every session issued before this
        # revocation" must not spare one issued earlier in the same second.
        issued_at = now
        expires_at = (now + ttl).replace(microsecond=0)
        claims = {
            "iss": ISSUER,
            "sub": agent.id,
            "jti": b64(secrets.token_bytes(16)),  # two logins in one second still differ
            "iat": issued_at.timestamp(),
            "exp": int(expires_at.timestamp()),
            "site": site,
            "agent": agent.model_dump(mode="json", exclude={"id", "active"}),
        }
        token = jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})
        return Issued(token, Session(agent=agent, site=site, issued_at=issued_at, expires_at=expires_at))

    def check(self, token: str, now: datetime) -> Session:
        """The session a token stands for; TokenRefused if it is not one we signed or has expired."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._verifiers.get(kid) if isinstance(kid, str) else None
            if key is None:
                raise TokenRefused("signed by a key this site does not trust")
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["sub", "iat", "exp", "jti", "iss"], "verify_exp": False},
            )
            if claims["exp"] <= now.timestamp():
                raise TokenRefused("expired")
            agent = Agent.model_validate({**claims["agent"], "id": claims["sub"], "active": True})
            return Session(
                agent=agent,
                site=str(claims["site"]),
                issued_at=datetime.fromtimestamp(claims["iat"], UTC),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            )
        except TokenRefused:
            raise
        except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
            raise TokenRefused(f"not a valid session token ({type(exc).__name__})") from None
