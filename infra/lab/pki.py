"""The lab's certificate authority and each site's certificate (PostgreSQL, Patroni, Kafka).

Made once per lab with `cryptography` and kept in the state dir (keys 0600): the drills then
measure the links as production runs them, encrypted and verified (`sslmode=verify-full`). A data
site's certificate names the site's address and the front door's (clients reach PostgreSQL through
it too); the witness's, its own (its Kafka controller proves itself with it). One whose names no
longer match the topology is issued again."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.settings import ZooKeeperTls
from infra.lab.layout import LabLayout
from infra.topology import Topology

CA_DAYS = 3650
SITE_DAYS = 825  # what browsers and most TLS stacks accept for a leaf


@dataclass(frozen=True)
class SiteTls:
    cert_pem: str
    key_pem: str


@dataclass(frozen=True)
class LabPki:
    ca_pem: str
    sites: dict[str, SiteTls]
    ops: SiteTls  # the operators' client certificate (Kafka's controllers take certificates only)
    front_door: SiteTls  # what clients of intake and the ticket API see (HTTPS)
    backup: dict[str, SiteTls]  # each site's pgBackRest TLS server and client identity (infra.lab.backup)


OPS_CLIENT_NAME = "ccdr-ops"  # its CN: the same principal as the operators' SCRAM user
FRONT_DOOR_NAME = "front-door.ccdr.lab"


def pki_dir(topo: Topology) -> Path:
    return topo.lab.state_dir / "pki"


def ops_tools_config(topo: Topology) -> Path:
    """Client properties of Kafka's own tools, as the operators (mutual TLS to the controllers)."""
    return pki_dir(topo) / "kafka-ops.properties"


def ca_file(topo: Topology) -> Path:
    """The CA every lab client trusts (sslrootcert)."""
    return pki_dir(topo) / "ca.crt"


def client_tls(topo: Topology) -> dict[str, str]:
    """libpq options of every lab connection: encrypted, and the server's name checked."""
    return {"sslmode": "verify-full", "sslrootcert": str(ca_file(topo))}


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def certificate_subject(common: str) -> str:
    """A lab certificate's subject as ZooKeeper's x509 identities and Kafka's principals read it (RFC 2253)."""
    return _name(common).rfc4514_string()


def _name(common: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ccdr lab"), x509.NameAttribute(NameOID.COMMON_NAME, common)]
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _new_ca(now: dt.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("ccdr lab CA"))
        .issuer_name(_name("ccdr lab CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def site_tls_name(site: str) -> str:
    """The DNS name a site's certificate carries (HAProxy checks it: `verifyhost`)."""
    return f"site-{site}.ccdr.lab"


def site_names(topo: Topology, site: str) -> list[ipaddress.IPv4Address]:
    if topo.site(site).role == "data":
        return [topo.site(site).address, topo.front_door.address]
    return [topo.site(site).address]


def backup_tls_name(topo: Topology, site: str) -> str:
    """The name of a site's pgBackRest certificate: its address as text. pgBackRest 2.45 (Debian's)
    matches the host it dials against DNS names only (IP SANs from 2.53), and the lab has no DNS;
    the same name is the client identity its peers' `tls-server-auth` admits."""
    return str(topo.site(site).address)


def _new_leaf(
    ca_key: ec.EllipticCurvePrivateKey,
    ca: x509.Certificate,
    common_name: str,
    addresses: list[ipaddress.IPv4Address],
    now: dt.datetime,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(common_name), *(x509.IPAddress(a) for a in addresses)]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=SITE_DAYS))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _current(path: Path, common_name: str, addresses: list[ipaddress.IPv4Address], now: dt.datetime) -> bool:
    """The certificate at `path` exists, is valid for another 30 days and names exactly `common_name`
    and `addresses`."""
    if not path.exists():
        return False
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return (
        set(sans.get_values_for_type(x509.IPAddress)) == set(addresses)
        and sans.get_values_for_type(x509.DNSName) == [common_name]
        and cert.not_valid_after_utc - now > dt.timedelta(days=30)
    )


def load_or_create(layout: LabLayout) -> LabPki:
    topo = layout.topology
    now = dt.datetime.now(dt.UTC)
    root = pki_dir(topo)
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)  # the postgres user reads nothing here (its copies are rendered), others the CA
    ca_key_path, ca_path = root / "ca.key", ca_file(topo)
    if ca_key_path.exists() and ca_path.exists():
        loaded = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)  # as _new_ca made it
        ca_key, ca = loaded, x509.load_pem_x509_certificate(ca_path.read_bytes())
    else:
        ca_key, ca = _new_ca(now)
        _write(ca_key_path, _key_pem(ca_key), 0o600)
        _write(ca_path, ca.public_bytes(serialization.Encoding.PEM), 0o644)

    def leaf(stem: str, common_name: str, addresses: list[ipaddress.IPv4Address]) -> SiteTls:
        cert_path, key_path = root / f"{stem}.crt", root / f"{stem}.key"
        if not (_current(cert_path, common_name, addresses, now) and key_path.exists()):
            key, cert = _new_leaf(ca_key, ca, common_name, addresses, now)
            _write(key_path, _key_pem(key), 0o600)
            _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        return SiteTls(cert_path.read_text(), key_path.read_text())

    sites = {site: leaf(f"site-{site}", site_tls_name(site), site_names(topo, site)) for site in sorted(topo.sites)}
    front = leaf("front-door", FRONT_DOOR_NAME, [topo.front_door.address])
    backup = {site: leaf(f"backup-{site}", backup_tls_name(topo, site), []) for site in sorted(topo.sites)}
    return LabPki(ca_path.read_text(), sites, leaf("ops", OPS_CLIENT_NAME, []), front, backup)


def spki_sha256(cert_pem: str) -> str:
    """The base64 SHA-256 of a certificate's public key (what browsers pin)."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(spki)
    return base64.b64encode(digest.finalize()).decode()


def front_door_pin(topo: Topology) -> str:
    """The front door's key pin, for a browser that does not trust the lab CA."""
    return spki_sha256((pki_dir(topo) / "front-door.crt").read_text())


def zookeeper_tls(topo: Topology) -> ZooKeeperTls | None:
    """The operators' TLS identity at the ensemble, for tools that start from the topology (None:
    no lab here)."""
    root = pki_dir(topo)
    if not (root / "ops.crt").exists():
        return None
    return ZooKeeperTls(ca_file=str(ca_file(topo)), cert_file=str(root / "ops.crt"), key_file=str(root / "ops.key"))


def site_zookeeper_tls(topo: Topology, site: str) -> ZooKeeperTls:
    """A site's services' TLS identity at the ensemble: the site's certificate."""
    root = pki_dir(topo)
    return ZooKeeperTls(
        ca_file=str(ca_file(topo)), cert_file=str(root / f"site-{site}.crt"), key_file=str(root / f"site-{site}.key")
    )


@functools.cache
def _client_context(tls: ZooKeeperTls) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=tls.ca_file)
    context.load_cert_chain(tls.cert_file, tls.key_file)
    return context


def zookeeper_context(tls: ZooKeeperTls | None) -> ssl.SSLContext | None:
    """An SSL context presenting `tls`'s certificate (four-letter words over the TLS port)."""
    return _client_context(tls) if tls is not None else None


@functools.cache
def verifying_context(ca: str) -> ssl.SSLContext:
    """A client context trusting only `ca` (made once per file and process)."""
    return ssl.create_default_context(cafile=ca)


def front_door_tls(topo: Topology) -> ssl.SSLContext:
    """What lab clients verify the front door's and the sites' HTTPS and STARTTLS with: the lab CA,
    names checked. One context per process (httpx deprecates `verify=<path>`)."""
    return verifying_context(str(ca_file(topo)))
