"""pgbackrest.conf as the lab and production both render it (pure): the repository host, which
backs up every database host over pgBackRest's TLS server, and a database host, which archives to
the repository host over the same. Each side admits the other by its certificate's name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

Options = list[tuple[str, object]]


@dataclass(frozen=True)
class Tls:
    cert: Path
    key: Path
    ca: Path


@dataclass(frozen=True)
class Host:
    """One pgBackRest host as the config needs it."""

    name: str  # what the peers dial, and the name its certificate carries (the CN they admit)
    address: str  # where its TLS server listens
    log_dir: Path
    lock_dir: Path
    tls: Tls


@dataclass(frozen=True)
class Database:
    """A PostgreSQL node as pgBackRest reaches it on its own host."""

    host: str  # the host's name (only used from the repository host)
    data_dir: Path
    port: int
    socket_dir: Path


@dataclass(frozen=True)
class Repository:
    stanza: str
    path: Path
    port: int  # every TLS server's
    archive_timeout_s: int
    retention_full: int


def archive_command(binary: Path, config: Path, stanza: str) -> str:
    """PostgreSQL's archive_command on a database host (Patroni's parameters)."""
    return f"{binary} --config={config} --stanza={stanza} archive-push %p"


def server_command(binary: Path, config: Path) -> str:
    return f"{binary} --config={config} server"


def _ini(sections: dict[str, Options]) -> str:
    return "\n".join(f"[{name}]\n" + "".join(f"{k}={v}\n" for k, v in options) for name, options in sections.items())


def _common(host: Host, repo: Repository) -> Options:
    """Logs, locks, the archive's patience, and this host's TLS server."""
    return [
        ("log-path", host.log_dir),
        ("lock-path", host.lock_dir),
        ("log-level-console", "warn"),
        ("log-level-file", "info"),
        ("archive-timeout", repo.archive_timeout_s),
        ("tls-server-address", host.address),
        ("tls-server-port", repo.port),
        ("tls-server-cert-file", host.tls.cert),
        ("tls-server-key-file", host.tls.key),
        ("tls-server-ca-file", host.tls.ca),
    ]


def repository_host(host: Host, repo: Repository, databases: Sequence[Database]) -> str:
    """The repository host: it keeps the repository and backs up whichever database is the primary.
    One tls-server-auth line per database host (pgBackRest 2.45 keys it by certificate name)."""
    admitted: Options = [("tls-server-auth", f"{db.host}={repo.stanza}") for db in databases]
    keeps: Options = [("repo1-path", repo.path), ("repo1-retention-full", repo.retention_full), ("start-fast", "y")]
    reaches: Options = []
    for n, db in enumerate(databases, start=1):
        reaches += [
            (f"pg{n}-host", db.host),
            (f"pg{n}-host-type", "tls"),
            (f"pg{n}-host-port", repo.port),
            (f"pg{n}-host-cert-file", host.tls.cert),
            (f"pg{n}-host-key-file", host.tls.key),
            (f"pg{n}-host-ca-file", host.tls.ca),
            (f"pg{n}-path", db.data_dir),
            (f"pg{n}-port", db.port),
            (f"pg{n}-socket-path", db.socket_dir),
        ]
    return _ini({"global": _common(host, repo) + admitted + keeps, repo.stanza: reaches})


def database_host(host: Host, repo: Repository, repository_host_name: str, database: Database) -> str:
    """A database host: it archives to the repository host, whose backups reach its TLS server,
    which admits the repository host only."""
    to_repo: Options = [
        ("tls-server-auth", f"{repository_host_name}={repo.stanza}"),
        ("repo1-host", repository_host_name),
        ("repo1-host-type", "tls"),
        ("repo1-host-port", repo.port),
        ("repo1-host-cert-file", host.tls.cert),
        ("repo1-host-key-file", host.tls.key),
        ("repo1-host-ca-file", host.tls.ca),
        ("repo1-path", repo.path),  # the client names the path; the repository's server only serves it
    ]
    local: Options = [
        ("pg1-path", database.data_dir),
        ("pg1-port", database.port),
        ("pg1-socket-path", database.socket_dir),
    ]
    return _ini({"global": _common(host, repo) + to_repo, repo.stanza: local})
