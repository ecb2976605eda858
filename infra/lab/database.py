"""The lab database: roles, the application database, and schema migrations (yoyo)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import cast
from urllib.parse import quote

import psycopg
from psycopg import sql
from yoyo import get_backend, read_migrations

from infra.lab import demo_agents, render
from infra.lab.render import Secrets
from infra.topology import Topology

MIGRATIONS = Path(__file__).resolve().parents[2] / "core" / "migrations"
CONNECT_TIMEOUT_S = render.CONNECT_TIMEOUT_S


def front_door_dsn(topo: Topology, user: str, password: str, dbname: str, *, read_only: bool = False) -> str:
    port = topo.front_door.postgres_replica if read_only else topo.front_door.postgres_primary
    return psycopg.conninfo.make_conninfo(
        host=str(topo.front_door.address),
        port=port,
        user=user,
        password=password,
        dbname=dbname,
        connect_timeout=CONNECT_TIMEOUT_S,
        application_name="ccdr-lab",
    )


def app_dsn(topo: Topology, app_password: str) -> str:
    """The application role's DSN through the front door's primary port: what services, drills and
    benchmarks use."""
    return front_door_dsn(topo, topo.database.app_user, app_password, topo.database.name)


def site_dsn(topo: Topology, site: str, user: str, password: str, dbname: str) -> str:
    """Straight to one site's PostgreSQL, bypassing the front door."""
    return psycopg.conninfo.make_conninfo(
        host=str(topo.site(site).address),
        port=topo.ports.postgres,
        user=user,
        password=password,
        dbname=dbname,
        connect_timeout=CONNECT_TIMEOUT_S,
        application_name="ccdr-lab",
    )


def ensure_database(topo: Topology, secrets: Secrets) -> None:
    """Create the application role and database if missing (idempotent)."""
    db = topo.database
    with psycopg.connect(front_door_dsn(topo, "postgres", secrets.superuser, "postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (db.app_user,)).fetchone():
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(db.app_user), sql.Literal(secrets.app)
                )
            )
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db.name,)).fetchone():
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db.name), sql.Identifier(db.app_user))
            )


def migrate(topo: Topology, secrets: Secrets) -> list[str]:
    """Apply pending migrations through the primary; return the ids applied."""
    dsn = app_dsn(topo, secrets.app)
    backend = get_backend("postgresql+psycopg://" + _url_part(dsn))
    migrations = read_migrations(str(MIGRATIONS))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return [m.id for m in pending]


def _url_part(dsn: str) -> str:
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    user, password = cast(str, params["user"]), cast(str, params["password"])  # as parsed from the DSN: text
    return (
        f"{quote(user)}:{quote(password)}@{params['host']}:{params['port']}/{params['dbname']}"
        f"?connect_timeout={params['connect_timeout']}"
    )


REFERENCE_DATA = Path(__file__).resolve().parent / "reference.sql"


def seed_reference(topo: Topology, secrets: Secrets) -> int:
    """Load the lab's demo customers, contracts and assets (idempotent); return rows added."""
    dsn = app_dsn(topo, secrets.app)
    with psycopg.connect(dsn) as conn:
        before = _reference_rows(conn)
        conn.execute(REFERENCE_DATA.read_text())
        return _reference_rows(conn) - before


def seed_agents(topo: Topology, secrets: Secrets) -> tuple[int, int]:
    """The demo agents and their roster (idempotent); returns (agents added, shifts added)."""
    dsn = app_dsn(topo, secrets.app)
    with psycopg.connect(dsn) as conn:
        return demo_agents.seed(conn, secrets.agent_password, datetime.now(demo_agents.VIETNAM).date())


def _reference_rows(conn: psycopg.Connection) -> int:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM contracts) + (SELECT count(*) FROM assets)"
    ).fetchone()
    return int(row[0]) if row else 0


@contextmanager
def scratch_database(topo: Topology, secrets: Secrets, name: str) -> Iterator[str]:
    """A throwaway database on the lab's cluster, migrated like the application's and holding its
    reference data; yields the application role's DSN to it and drops it afterwards."""
    admin = front_door_dsn(topo, "postgres", secrets.superuser, "postgres")
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(drop)
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(topo.database.app_user))
        )
    try:
        dsn = front_door_dsn(topo, topo.database.app_user, secrets.app, name)
        backend = get_backend("postgresql+psycopg://" + _url_part(dsn))
        with backend.lock():
            backend.apply_migrations(backend.to_apply(read_migrations(str(MIGRATIONS))))
        with psycopg.connect(dsn) as conn:
            conn.execute(REFERENCE_DATA.read_text())
        yield dsn
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(drop)
