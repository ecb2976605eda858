"""pgBackRest's lab configuration: each site's pgbackrest.conf, its TLS server program, and
PostgreSQL's archive_command (the operations are in infra.lab.backup)."""

from __future__ import annotations

import shutil
from pathlib import Path

from infra import pgbackrest_conf
from infra.lab.files import Program, RenderedFile
from infra.lab.layout import LabLayout, SiteDirs
from infra.lab.pki import LabPki, backup_tls_name
from infra.topology import Topology

PGBACKREST = Path("/usr/bin/pgbackrest")
USER = "postgres"  # owns the database's files and the repository; every pgBackRest process runs as it


def config_path(dirs: SiteDirs) -> Path:
    return dirs.conf / "pgbackrest.conf"


def _home(dirs: SiteDirs) -> Path:
    """The postgres user's pgBackRest directory at a site (certificates; at the witness, the
    repository and the scratch cluster too)."""
    return dirs.root / "pgbackrest"


def repository(layout: LabLayout) -> Path:
    return _home(layout.site(layout.topology.witness_site)) / "repo"


def scratch_dir(layout: LabLayout) -> Path:
    """Where a restore check rebuilds the database (at the witness, beside the repository)."""
    return _home(layout.site(layout.topology.witness_site)) / "restore"


def _tls_files(dirs: SiteDirs, pki: LabPki | None, site: str) -> tuple[dict[str, Path], list[RenderedFile]]:
    """The site's pgBackRest certificate and key as the postgres user's files (pgBackRest refuses a
    key that others can read), and the CA (none without a PKI: unit tests of the rest)."""
    tls = _home(dirs) / "tls"
    paths = {"cert": tls / "backup.crt", "key": tls / "backup.key", "ca": tls / "ca.crt"}
    if pki is None:
        return paths, []
    files = [
        RenderedFile(paths["cert"], pki.backup[site].cert_pem, owner=USER, mode=0o644),
        RenderedFile(paths["key"], pki.backup[site].key_pem, owner=USER, mode=0o600),
        RenderedFile(paths["ca"], pki.ca_pem, owner=USER, mode=0o644),
    ]
    return paths, files


def _host(topo: Topology, layout: LabLayout, site: str, tls: dict[str, Path]) -> pgbackrest_conf.Host:
    dirs = layout.site(site)
    return pgbackrest_conf.Host(
        name=backup_tls_name(topo, site),
        address=str(topo.site(site).address),
        log_dir=dirs.logs / "pgbackrest",
        lock_dir=dirs.run / "pgbackrest",
        tls=pgbackrest_conf.Tls(tls["cert"], tls["key"], tls["ca"]),
    )


def _database(topo: Topology, layout: LabLayout, site: str) -> pgbackrest_conf.Database:
    dirs = layout.site(site)
    return pgbackrest_conf.Database(
        backup_tls_name(topo, site), dirs.postgres_data, topo.ports.postgres, dirs.postgres_socket
    )


def _repository(topo: Topology, layout: LabLayout) -> pgbackrest_conf.Repository:
    b = topo.backup
    return pgbackrest_conf.Repository(
        b.stanza, repository(layout), topo.ports.backup_tls, b.archive_timeout_s, b.retention_full
    )


def site_config(topo: Topology, layout: LabLayout, site: str, tls: dict[str, Path]) -> str:
    """pgbackrest.conf of one site: the repository and the backup's view of both database sites at
    the witness; the way to the repository at a database site."""
    host, repo = _host(topo, layout, site, tls), _repository(topo, layout)
    if site == topo.witness_site:
        return pgbackrest_conf.repository_host(host, repo, [_database(topo, layout, s) for s in topo.data_sites])
    witness = backup_tls_name(topo, topo.witness_site)
    return pgbackrest_conf.database_host(host, repo, witness, _database(topo, layout, site))


def archive_command(topo: Topology, dirs: SiteDirs) -> str:
    """PostgreSQL's archive_command at a database site (Patroni's local parameters)."""
    return pgbackrest_conf.archive_command(PGBACKREST, config_path(dirs), topo.backup.stanza)


def render_site(topo: Topology, layout: LabLayout, site: str, pki: LabPki | None) -> tuple[Program, list[RenderedFile]]:
    """The site's pgBackRest TLS server and its configuration."""
    dirs = layout.site(site)
    tls, files = _tls_files(dirs, pki, site)
    conf = RenderedFile(config_path(dirs), site_config(topo, layout, site, tls), owner=USER, mode=0o600)
    program = Program("pgbackrest", pgbackrest_conf.server_command(PGBACKREST, config_path(dirs)), dirs.root, user=USER)
    return program, [*files, conf]


def prepare_dirs(layout: LabLayout, site: str) -> None:
    """Directories the postgres user writes: logs, locks and, at the witness, the repository."""
    dirs = layout.site(site)
    owned = [dirs.logs / "pgbackrest", dirs.run / "pgbackrest", _home(dirs)]
    if site == layout.topology.witness_site:
        owned += [repository(layout)]
    for path in owned:
        path.mkdir(parents=True, exist_ok=True)
        shutil.chown(path, USER, USER)
    _home(dirs).chmod(0o750)
