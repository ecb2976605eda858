"""The lab's mail relay: rendered at the relay site only, TLS first, and only the data sites'
certificates may hand it mail."""

from __future__ import annotations

import datetime as dt
import hashlib
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from infra.lab import mail_relay
from infra.lab.layout import LabLayout
from infra.lab.pki import LabPki, SiteTls
from infra.lab.render import programs_of, render_group
from infra.topology import load_topology
from tests.unit.infra.test_render import SECRETS


@pytest.fixture
def layout() -> LabLayout:
    return LabLayout(load_topology())


def _self_signed(name: str) -> SiteTls:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return SiteTls(pem, key_pem)


def test_the_relay_runs_in_the_foreground_in_its_programs_process_group(layout: LabLayout) -> None:
    # `postfix start-fg` puts the master in a session of its own: stopping the program left it running.
    program, _ = mail_relay.render_site(layout.topology, layout, layout.topology.mail.relay_site, None)
    assert "start-fg" not in program.command
    assert f"exec {mail_relay.MASTER} -c " in program.command and program.command.endswith(' -d -s"')


def test_only_the_relay_site_runs_the_relay(layout: LabLayout) -> None:
    topo = layout.topology
    relay = topo.mail.relay_site
    assert mail_relay.PROGRAM in programs_of(topo, relay)
    for site in set(topo.sites) - {relay}:
        assert mail_relay.PROGRAM not in programs_of(topo, site)


def test_the_relay_takes_mail_over_tls_from_known_certificates_only(layout: LabLayout) -> None:
    topo = layout.topology
    relay = topo.mail.relay_site
    files = {f.path.name: f.content for f in render_group(layout, relay, SECRETS)}
    main = dict(line.split(" = ", 1) for line in files["main.cf"].splitlines())
    assert main["smtpd_tls_security_level"] == "encrypt"  # no MAIL before STARTTLS
    assert main["smtpd_tls_req_ccert"] == "yes"  # no conversation without a certificate
    assert main["smtpd_recipient_restrictions"] == main["smtpd_relay_restrictions"] == "permit_tls_clientcerts, reject"
    assert main["relayhost"] == "" and main["virtual_mailbox_domains"] == "static:all"  # nothing leaves the machine
    assert files["master.cf"].startswith(f"{topo.site(relay).address}:{topo.mail.relay_port} inet ")


def test_the_client_certificate_table_lists_the_data_sites_by_their_sha256_fingerprint(layout: LabLayout) -> None:
    topo = layout.topology
    sites = {s: _self_signed(f"site-{s}") for s in topo.sites}
    pki = LabPki(ca_pem="", sites=sites, ops=sites[topo.witness_site], front_door=sites["a"], backup=sites)
    table = mail_relay.client_certificates(topo, pki).splitlines()
    assert [line.split()[1] for line in table] == [f"site-{s}" for s in topo.data_sites]  # not the witness
    der = ssl.PEM_cert_to_DER_cert(sites["a"].cert_pem)
    expected = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
    assert table[0].split()[0] == expected == mail_relay.fingerprint(sites["a"].cert_pem)
