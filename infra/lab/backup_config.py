"""pgBackRest's lab configuration: each site's pgbackrest.conf, its TLS server program, and
PostgreSQL's archive_command (the operations are in infra.lab.backup)."""

from __future__ import annotations

import shutil
from pathlib import Path

from infra.lab.files import Program, RenderedFile
from infra.lab.layout import LabLayout, SiteDirs
from infra.lab.pki import LabPki, backup_tls_name
from infra.topology import Topology

PGBACKREST = Path("/usr/bin/pgbackrest")
USER = "postgres"  # owns the database's files and the repository; every pgBackRest process runs as it


def config_path(dirs: SiteDirs) -> Path:
    return dirs.conf / "pgbackrest.conf"


def repository(layout: LabLayout) -> Path:
    return layout.site(layout.topology.witness_site).root / "pgbackrest" / "repo"


def scratch_dir(layout: LabLayout) -> Path:
    """Where a restore check rebuilds the database (at the witness, beside the repository)."""
    return layout.site(layout.topology.witness_site).root / "pgbackrest" / "restore"


def _tls_files(dirs: SiteDirs, pki: LabPki | None, site: str) -> tuple[dict[str, Path], list[RenderedFile]]:
    """The site's pgBackRest certificate and key as the postgres user's files (pgBackRest refuses a
    key that others can read), and the CA (none without a PKI: unit tests of the rest)."""
    tls = dirs.root / "pgbackrest" / "tls"
    paths = {"cert": tls / "backup.crt", "key": tls / "backup.key", "ca": tls / "ca.crt"}
    if pki is None:
        return paths, []
    files = [
        RenderedFile(paths["cert"], pki.backup[site].cert_pem, owner=USER, mode=0o644),
        RenderedFile(paths["key"], pki.backup[site].key_pem, owner=USER, mode=0o600),
        RenderedFile(paths["ca"], pki.ca_pem, owner=USER, mode=0o644),
    ]
    return paths, files


def _lines(section: str, options: list[tuple[str, object]]) -> str:
    return f"[{section}]\n" + "".join(f"{key}={value}\n" for key, value in options)


def site_config(topo: Topology, layout: LabLayout, site: str, tls: dict[str, Path]) -> str:
    """pgbackrest.conf of one site: the repository and the backup's view of both database sites at
    the witness; the way to the repository at a database site."""
    b, port = topo.backup, topo.ports.backup_tls
    dirs = layout.site(site)
    common: list[tuple[str, object]] = [
        ("log-path", dirs.logs / "pgbackrest"),
        ("lock-path", dirs.run / "pgbackrest"),
        ("log-level-console", "warn"),
        ("log-level-file", "info"),
        ("archive-timeout", b.archive_timeout_s),
        ("tls-server-address", topo.site(site).address),
        ("tls-server-port", port),
        ("tls-server-cert-file", tls["cert"]),
        ("tls-server-key-file", tls["key"]),
        ("tls-server-ca-file", tls["ca"]),
    ]
    if site == topo.witness_site:
        admitted = [("tls-server-auth", f"{backup_tls_name(topo, s)}={b.stanza}") for s in topo.data_sites]
        repo = [("repo1-path", repository(layout)), ("repo1-retention-full", b.retention_full), ("start-fast", "y")]
        databases: list[tuple[str, object]] = []
        for n, data_site in enumerate(topo.data_sites, start=1):
            their = layout.site(data_site)
            databases += [
                (f"pg{n}-host", backup_tls_name(topo, data_site)),
                (f"pg{n}-host-type", "tls"),
                (f"pg{n}-host-port", port),
                (f"pg{n}-host-cert-file", tls["cert"]),
                (f"pg{n}-host-key-file", tls["key"]),
                (f"pg{n}-host-ca-file", tls["ca"]),
                (f"pg{n}-path", their.postgres_data),
                (f"pg{n}-port", topo.ports.postgres),
                (f"pg{n}-socket-path", their.postgres_socket),
            ]
        return _lines("global", common + admitted + repo) + "\n" + _lines(b.stanza, databases)
    witness = topo.witness_site
    to_repo: list[tuple[str, object]] = [
        ("tls-server-auth", f"{backup_tls_name(topo, witness)}={b.stanza}"),
        ("repo1-host", backup_tls_name(topo, witness)),
        ("repo1-host-type", "tls"),
        ("repo1-host-port", port),
        ("repo1-host-cert-file", tls["cert"]),
        ("repo1-host-key-file", tls["key"]),
        ("repo1-host-ca-file", tls["ca"]),
        ("repo1-path", repository(layout)),  # the client names the path; the witness's server only serves it
    ]
    database = [
        ("pg1-path", dirs.postgres_data),
        ("pg1-port", topo.ports.postgres),
        ("pg1-socket-path", dirs.postgres_socket),
    ]
    return _lines("global", common + to_repo) + "\n" + _lines(b.stanza, database)


def archive_command(topo: Topology, dirs: SiteDirs) -> str:
    """PostgreSQL's archive_command at a database site (Patroni's local parameters)."""
    return f"{PGBACKREST} --config={config_path(dirs)} --stanza={topo.backup.stanza} archive-push %p"


def render_site(topo: Topology, layout: LabLayout, site: str, pki: LabPki | None) -> tuple[Program, list[RenderedFile]]:
    """The site's pgBackRest TLS server and its configuration."""
    dirs = layout.site(site)
    tls, files = _tls_files(dirs, pki, site)
    conf = RenderedFile(config_path(dirs), site_config(topo, layout, site, tls), owner=USER, mode=0o600)
    program = Program("pgbackrest", f"{PGBACKREST} --config={config_path(dirs)} server", dirs.root, user=USER)
    return program, [*files, conf]


def prepare_dirs(layout: LabLayout, site: str) -> None:
    """Directories the postgres user writes: logs, locks and, at the witness, the repository."""
    dirs = layout.site(site)
    owned = [dirs.logs / "pgbackrest", dirs.run / "pgbackrest", dirs.root / "pgbackrest"]
    if site == layout.topology.witness_site:
        owned += [repository(layout)]
    for path in owned:
        path.mkdir(parents=True, exist_ok=True)
        shutil.chown(path, USER, USER)
    (dirs.root / "pgbackrest").chmod(0o750)
