from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509

from infra.lab.layout import LabLayout
from infra.lab.pki import client_tls, load_or_create
from infra.topology import Topology, load_topology


def _topology(state: Path, front_door: str | None = None) -> Topology:
    topo = load_topology()
    topo = topo.model_copy(update={"lab": topo.lab.model_copy(update={"state_dir": state})})
    if front_door:
        topo = topo.model_copy(
            update={"front_door": topo.front_door.model_copy(update={"address": ipaddress.IPv4Address(front_door)})}
        )
    return topo


def _sans(
    pem: str,
) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address | ipaddress.IPv4Network | ipaddress.IPv6Network]:
    cert = x509.load_pem_x509_certificate(pem.encode())
    return set(
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.IPAddress)
    )


def test_each_site_gets_a_certificate_the_lab_ca_signed_for_its_addresses(tmp_path: Path) -> None:
    topo = _topology(tmp_path)
    pki = load_or_create(LabLayout(topo))
    ca = x509.load_pem_x509_certificate(pki.ca_pem.encode())
    assert sorted(pki.sites) == sorted(topo.sites)  # the witness too: its Kafka controller proves itself
    for site, tls in pki.sites.items():
        cert = x509.load_pem_x509_certificate(tls.cert_pem.encode())
        cert.verify_directly_issued_by(ca)
        expected = {topo.sites[site].address}
        if site in topo.data_sites:  # clients reach the data sites' PostgreSQL through the front door too
            expected.add(topo.front_door.address)
        assert _sans(tls.cert_pem) == expected
    ops = x509.load_pem_x509_certificate(pki.ops.cert_pem.encode())
    ops.verify_directly_issued_by(ca)
    assert ops.subject.rfc4514_string().startswith("CN=ccdr-ops,")  # Kafka's principal mapping takes the CN
    assert oct((tmp_path / "pki" / "ca.key").stat().st_mode & 0o777) == "0o600"
    assert client_tls(topo) == {"sslmode": "verify-full", "sslrootcert": str(tmp_path / "pki" / "ca.crt")}


def test_certificates_are_kept_until_their_names_change(tmp_path: Path) -> None:
    first = load_or_create(LabLayout(_topology(tmp_path)))
    again = load_or_create(LabLayout(_topology(tmp_path)))
    assert again == first
    moved = load_or_create(LabLayout(_topology(tmp_path, front_door="127.0.0.2")))
    assert moved.ca_pem == first.ca_pem  # the same CA: clients keep trusting it
    assert moved.sites["a"].cert_pem != first.sites["a"].cert_pem
    assert ipaddress.IPv4Address("127.0.0.2") in _sans(moved.sites["a"].cert_pem)
