"""The ensemble takes TLS clients with a certificate of the lab CA only; ccdr's znodes belong to its
digest user (anyone else can neither read the roles and presence nor forge a leader or a site
record) and Patroni's to the database nodes' certificates (nobody else can take or drop the lock)."""

from __future__ import annotations

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError
from kazoo.handlers.threading import KazooTimeoutError

from failover.zookeeper import ROOT, tls_options
from infra.lab import secrets as lab_secrets
from infra.lab.pki import certificate_subject, site_tls_name, site_zookeeper_tls, zookeeper_tls
from tests.integration.core.conftest import Front

PATRONI_NAMESPACE = "/service/ccdr"  # Patroni's default namespace and the lab's scope


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


def test_the_ensemble_takes_only_tls_clients_with_a_certificate_of_the_lab_ca(front: Front) -> None:
    ops = zookeeper_tls(front.topo)
    assert ops is not None
    without_certificate = {"use_ssl": True, "verify_certs": True, "ca": ops.ca_file}
    for options in ({}, without_certificate):  # plain TCP; TLS without a client certificate
        zk = KazooClient(hosts=front.topo.zookeeper_connect(), timeout=5, **options)
        with pytest.raises(KazooTimeoutError):
            zk.start(timeout=5)
        zk.stop()


def test_patronis_znodes_belong_to_the_database_nodes_certificates(front: Front) -> None:
    leader = f"{PATRONI_NAMESPACE}/leader"
    operators = _client(front, None)  # a valid lab certificate, but not a database node's
    try:
        with pytest.raises(NoAuthError):
            operators.get_children(PATRONI_NAMESPACE)
        with pytest.raises(NoAuthError):
            operators.delete(leader)  # would end the primary's lease: a failover on demand
    finally:
        operators.stop()
    node = KazooClient(
        hosts=front.topo.zookeeper_connect(), timeout=10, **tls_options(site_zookeeper_tls(front.topo, "a"))
    )
    node.start(timeout=10)
    try:
        acl, _ = node.get_acls(leader)
        owners = {certificate_subject(site_tls_name(s)) for s in front.topo.data_sites}
        assert {(a.id.scheme, a.id.id) for a in acl} == {("x509", o) for o in owners}
        assert node.exists(leader) is not None  # the lock is still there
    finally:
        node.stop()
