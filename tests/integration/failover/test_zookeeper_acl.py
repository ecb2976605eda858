"""ccdr's znodes belong to its digest user: anyone else who reaches the ensemble can neither read
the roles and presence nor forge a leader or a site record."""

from __future__ import annotations

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError

from failover.zookeeper import ROOT, tls_options
from infra.lab import secrets as lab_secrets
from infra.lab.pki import zookeeper_tls
from tests.integration.core.conftest import Front


def _client(front: Front, auth: tuple[str, str] | None) -> KazooClient:
    zk = KazooClient(
        hosts=front.topo.zookeeper_connect(),
        timeout=10,
        auth_data=[("digest", f"{auth[0]}:{auth[1]}")] if auth else None,
        **tls_options(zookeeper_tls(front.topo)),
    )
    zk.start(timeout=10)
    return zk


def test_an_unauthenticated_client_can_neither_read_nor_write_ccdrs_nodes(front: Front) -> None:
    credentials = lab_secrets.zookeeper_auth(front.topo)
    assert credentials is not None
    owner = _client(front, credentials)
    try:
        assert owner.get_children(f"{ROOT}/roles")  # the elections' nodes exist
        acl, _ = owner.get_acls(ROOT)
        assert [(a.id.scheme, a.id.id.split(":")[0]) for a in acl] == [("digest", credentials[0])]
    finally:
        owner.stop()
    for who in (None, (credentials[0], "not-the-password")):
        stranger = _client(front, who)
        try:
            with pytest.raises(NoAuthError):
                stranger.get_children(f"{ROOT}/roles")
            with pytest.raises(NoAuthError):
                stranger.create(f"{ROOT}/sites/forged", b'{"site": "forged"}', ephemeral=True)
            with pytest.raises(NoAuthError):
                stranger.set(f"{ROOT}/roles/sla-clock/epoch", b"999999")
        finally:
            stranger.stop()
