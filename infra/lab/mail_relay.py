"""The lab's mail relay: Postfix at `mail.relay_site`, standing in for the organisation's relay.

It takes mail only over TLS, and only from a client whose certificate is one of the data sites'
(their notifiers): `smtpd_tls_req_ccert` plus `permit_tls_clientcerts` with the certificates'
SHA-256 fingerprints. Whatever it accepts, for any address, it keeps in one Maildir
(`kept_mail`), which is how tests and drills read what a customer received; nothing leaves the
machine. Production points the notifier at the organisation's own relay (docs/notifications.md)."""

from __future__ import annotations

import pwd
import shutil
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from infra.lab.files import Program, RenderedFile
from infra.lab.layout import LabLayout, SiteDirs
from infra.lab.pki import LabPki, ca_file, pki_dir
from infra.topology import Topology

POSTFIX = Path("/usr/sbin/postfix")
MASTER = Path("/usr/lib/postfix/sbin/master")
POSTFIX_USER = "postfix"  # owns the queue's files (Debian's postfix package creates it)
MAILBOX_USER = "nobody"  # the kept Maildir's owner: Postfix's virtual agent never delivers as root
PROGRAM = "mail-relay"

# The services Postfix needs for mail that arrives over SMTP and is delivered to a Maildir; none
# runs chrooted (the queue lives in the lab's state dir, not under /var/spool/postfix).
_MASTER_SERVICES = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def _home(dirs: SiteDirs) -> Path:
    return dirs.root / "mail-relay"


def conf_dir(dirs: SiteDirs) -> Path:
    return dirs.conf / "postfix"


def kept_mail(layout: LabLayout) -> Path:
    """The Maildir holding every message the relay accepted (`new/` until someone reads it)."""
    return _home(layout.site(layout.topology.mail.relay_site)) / "kept" / "Maildir"


def fingerprint(cert_pem: str) -> str:
    """A certificate's SHA-256 fingerprint as Postfix writes it (upper-case hex pairs, colons)."""
    digest = x509.load_pem_x509_certificate(cert_pem.encode()).fingerprint(hashes.SHA256())
    return ":".join(f"{b:02X}" for b in digest)


def main_cf(topo: Topology, dirs: SiteDirs, site: str, mailbox_uid: int) -> str:
    home, conf, pki = _home(dirs), conf_dir(dirs), pki_dir(topo)
    address = topo.site(site).address
    lines = {
        "compatibility_level": "3.6",
        "queue_directory": home / "queue",
        "data_directory": home / "data",
        "mail_owner": POSTFIX_USER,
        "setgid_group": "postdrop",
        "myhostname": f"relay.site-{site}.ccdr.lab",
        "inet_protocols": "ipv4",
        "inet_interfaces": address,
        "maillog_file": "/dev/stdout",  # supervisord keeps it (infra/lab/templates/supervisord.conf.j2)
        # Nothing is relayed onward and nothing is local: every domain is a virtual mailbox domain,
        # and every mailbox is the one kept Maildir.
        "mydestination": "",
        "relayhost": "",
        "alias_maps": "",
        "local_recipient_maps": "",
        "virtual_mailbox_domains": "static:all",
        "virtual_mailbox_base": home / "kept",
        "virtual_mailbox_maps": "static:Maildir/",
        "virtual_uid_maps": f"static:{mailbox_uid}",
        "virtual_gid_maps": f"static:{mailbox_uid}",
        "virtual_minimum_uid": "1",
        "smtputf8_enable": "yes",
        # TLS before anything, and only the data sites' certificates may hand over mail.
        "smtpd_tls_security_level": "encrypt",
        "smtpd_tls_mandatory_protocols": ">=TLSv1.2",
        "smtpd_tls_cert_file": pki / f"site-{site}.crt",
        "smtpd_tls_key_file": pki / f"site-{site}.key",
        "smtpd_tls_CAfile": ca_file(topo),
        "smtpd_tls_ask_ccert": "yes",
        "smtpd_tls_req_ccert": "yes",
        "smtpd_tls_fingerprint_digest": "sha256",
        "relay_clientcerts": f"texthash:{conf / 'relay_clientcerts'}",
        "smtpd_relay_restrictions": "permit_tls_clientcerts, reject",
        "smtpd_recipient_restrictions": "permit_tls_clientcerts, reject",
        "mynetworks": "127.0.0.1/32",
        "message_size_limit": "10240000",
    }
    return "".join(f"{k} = {v}\n" for k, v in lines.items())


def master_cf(topo: Topology, site: str) -> str:
    smtpd = f"{topo.site(site).address}:{topo.mail.relay_port} inet n - n - - smtpd\n"
    return smtpd + _MASTER_SERVICES


def client_certificates(topo: Topology, pki: LabPki) -> str:
    """relay_clientcerts: the data sites' certificates (their notifiers), by fingerprint."""
    return "".join(f"{fingerprint(pki.sites[s].cert_pem)} site-{s}\n" for s in topo.data_sites)


def render_site(topo: Topology, layout: LabLayout, site: str, pki: LabPki | None) -> tuple[Program, list[RenderedFile]]:
    """The relay's Postfix configuration and program (at the relay site only)."""
    dirs = layout.site(site)
    conf = conf_dir(dirs)
    uid = _mailbox_uid()
    files = [
        RenderedFile(conf / "main.cf", main_cf(topo, dirs, site, uid)),
        RenderedFile(conf / "master.cf", master_cf(topo, site)),
    ]
    if pki is not None:
        files.append(RenderedFile(conf / "relay_clientcerts", client_certificates(topo, pki)))
    # Postfix's master in the foreground and in supervisord's process group (`-d`): `postfix
    # start-fg` runs it in a session of its own, which a stop of the program left running (and
    # the next start then failed on its lock). `postfix check` first makes the queue's directories.
    program = Program(PROGRAM, f'/bin/sh -c "{POSTFIX} -c {conf} check && exec {MASTER} -c {conf} -d -s"', dirs.root)
    return program, files


def _mailbox_uid() -> int:
    try:
        return pwd.getpwnam(MAILBOX_USER).pw_uid
    except KeyError:
        return 65534  # Debian's nobody; rendering must work where the user is absent (unit tests)


def prepare_dirs(layout: LabLayout, site: str) -> None:
    """The queue (Postfix makes its subdirectories at start), its data directory and the kept Maildir."""
    home = _home(layout.site(site))
    for path, owner in ((home / "queue", "root"), (home / "data", POSTFIX_USER), (home / "kept", MAILBOX_USER)):
        path.mkdir(parents=True, exist_ok=True)
        shutil.chown(path, owner)
    home.chmod(0o755)
