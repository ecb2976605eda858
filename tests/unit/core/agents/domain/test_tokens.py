from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import jwt
import pytest

from core.agents.domain.model import Agent, Role
from core.agents.domain.revocations import Revocations
from core.agents.domain.tokens import SessionTokens, TokenRefused, new_signing_seed, public_key_of, token_hash

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

NOW = datetime(2026, 12, 6, 10, 0, 0, 123456, tzinfo=UTC)
AGENT = Agent(id="an.nguyen", name="An Nguyễn", role=Role.AGENT_L1, teams=("network",), home_site="a")


def keys() -> tuple[str, SessionTokens]:
    seed = new_signing_seed()
    return seed, SessionTokens([public_key_of(seed)], seed)


def test_a_token_stands_for_its_agent_at_any_site_holding_only_the_public_key() -> None:
    seed, signer = keys()
    issued = signer.issue(AGENT, "a", NOW, timedelta(hours=12))
    checker = SessionTokens([public_key_of(seed)])  # what intake holds: no private key
    session = checker.check(issued.token, NOW + timedelta(hours=11))
    assert session.agent == AGENT and session.site == "a"
    assert session.issued_at == NOW and session.expires_at == issued.session.expires_at


def test_an_expired_token_is_refused() -> None:
    _, signer = keys()
    issued = signer.issue(AGENT, "a", NOW, timedelta(hours=1))
    with pytest.raises(TokenRefused, match="expired"):
        signer.check(issued.token, NOW + timedelta(hours=1, seconds=1))


def test_a_token_signed_by_another_key_is_refused_even_under_a_trusted_key_id() -> None:
    _, ours = keys()
    theirs_seed, theirs = keys()
    forged = theirs.issue(AGENT.model_copy(update={"role": Role.SUPERVISOR}), "a", NOW, timedelta(hours=1)).token
    with pytest.raises(TokenRefused, match="does not trust"):
        ours.check(forged, NOW)
    # The same forgery claiming our key's id fails the signature check.
    payload = forged.split(".")[1]
    our_kid = jwt.get_unverified_header(ours.issue(AGENT, "a", NOW, timedelta(hours=1)).token)["kid"]
    relabelled = jwt.api_jws.PyJWS().encode(
        jwt.utils.base64url_decode(payload), _private(theirs_seed), algorithm="EdDSA", headers={"kid": our_kid}
    )
    with pytest.raises(TokenRefused, match="InvalidSignature"):
        ours.check(relabelled, NOW)


def _private(seed: str) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from core.agents.domain.tokens import unb64

    return Ed25519PrivateKey.from_private_bytes(unb64(seed))


@pytest.mark.parametrize("junk", ["", "abc", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "\x00" * 10])
def test_junk_is_refused_not_crashed_on(junk: str) -> None:
    _, signer = keys()
    with pytest.raises(TokenRefused):
        signer.check(junk, NOW)


def test_a_rotated_key_keeps_old_tokens_valid_while_it_is_listed() -> None:
    old_seed, old = keys()
    new_seed = new_signing_seed()
    token = old.issue(AGENT, "a", NOW, timedelta(hours=1)).token
    rotated = SessionTokens([public_key_of(new_seed), public_key_of(old_seed)], new_seed)
    assert rotated.check(token, NOW).agent.id == AGENT.id
    with pytest.raises(TokenRefused):
        SessionTokens([public_key_of(new_seed)]).check(token, NOW)


def test_a_signing_key_must_be_among_the_public_keys() -> None:
    with pytest.raises(ValueError, match="not among"):
        SessionTokens([public_key_of(new_signing_seed())], new_signing_seed())


def test_revocations_refuse_a_logged_out_token_and_sessions_issued_before_a_revoke_all() -> None:
    _, signer = keys()
    first = signer.issue(AGENT, "a", NOW, timedelta(hours=1))
    later = signer.issue(AGENT, "b", NOW + timedelta(microseconds=1), timedelta(hours=1))
    none = Revocations(read_at=NOW)
    assert none.refusal(first.session, token_hash(first.token)) is None
    logged_out = Revocations(read_at=NOW, tokens=frozenset({token_hash(first.token)}))
    assert "logged out" in (logged_out.refusal(first.session, token_hash(first.token)) or "")
    assert logged_out.refusal(later.session, token_hash(later.token)) is None
    # Revoke-all at NOW: the session issued in the same second but before it is void, the later one not.
    revoked_all = Revocations(read_at=NOW, not_before={AGENT.id: NOW})
    assert revoked_all.refusal(first.session, token_hash(first.token)) is not None
    assert revoked_all.refusal(later.session, token_hash(later.token)) is None
    disabled = Revocations(read_at=NOW, disabled=frozenset({AGENT.id}))
    assert disabled.refusal(later.session, token_hash(later.token)) == "this account is disabled"
