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
from infra.lab.pki import client_tls
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
        **client_tls(topo),
    )


def app_dsn(topo: Topology, app_password: str) -> str:
    """The application role's DSN through the front door's primary port: what services, drills and
    benchmarks use."""
    return front_door_dsn(topo, topo.database.app_user, app_password, topo.database.name)


def admin_dsn(topo: Topology, superuser_password: str) -> str:
    """The superuser on the application database, through the front door's primary port (operator
    tools: closing a WAL segment, reading for a restore check)."""
    return front_door_dsn(topo, "postgres", superuser_password, topo.database.name)


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
        **client_tls(topo),
    )


def _ensure_role(conn: psycopg.Connection, name: str, password: str) -> None:
    if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)))


def ensure_database(topo: Topology, secrets: Secrets) -> None:
    """The schema owner and application roles and the database, owned by the schema owner
    (idempotent). A lab made when the application role owned everything is handed over once."""
    db = topo.database
    owner, app = sql.Identifier(db.owner_user), sql.Identifier(db.app_user)
    with psycopg.connect(front_door_dsn(topo, "postgres", secrets.superuser, "postgres"), autocommit=True) as conn:
        _ensure_role(conn, db.app_user, secrets.app)
        _ensure_role(conn, db.owner_user, secrets.schema_owner)
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db.name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db.name), owner))
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(db.name), owner))
        conn.execute(sql.SQL("REVOKE CREATE ON DATABASE {} FROM PUBLIC").format(sql.Identifier(db.name)))
    with psycopg.connect(front_door_dsn(topo, "postgres", secrets.superuser, db.name), autocommit=True) as conn:
        conn.execute(sql.SQL("REASSIGN OWNED BY {} TO {}").format(app, owner))


# What the application may do: read and write rows, never change the schema; on the drill ledger
# only read and append (its triggers refuse rewrites too, for anyone).
APP_GRANTS = (
    "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    "GRANT USAGE ON SCHEMA public TO {app}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}",
    "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {app}",
    "REVOKE UPDATE, DELETE, TRUNCATE ON drill_ledger FROM {app}",
    "REVOKE ALL ON _yoyo_migration, _yoyo_log, _yoyo_version, yoyo_lock FROM {app}",
)


def grant_application(conn: psycopg.Connection, app_user: str) -> None:
    for statement in APP_GRANTS:
        conn.execute(sql.SQL(statement).format(app=sql.Identifier(app_user)))


def _apply_migrations(dsn: str) -> list[str]:
    backend = get_backend("postgresql+psycopg://" + _url_part(dsn))
    migrations = read_migrations(str(MIGRATIONS))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return [m.id for m in pending]


def migrate(topo: Topology, secrets: Secrets) -> list[str]:
    """Apply pending migrations through the primary as the schema owner, then (again) grant the
    application its rows; return the ids applied."""
    db = topo.database
    dsn = front_door_dsn(topo, db.owner_user, secrets.schema_owner, db.name)
    applied = _apply_migrations(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        grant_application(conn, db.app_user)
    return applied


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
    db = topo.database
    admin = front_door_dsn(topo, "postgres", secrets.superuser, "postgres")
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(drop)
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(db.owner_user)))
    try:
        owner_dsn = front_door_dsn(topo, db.owner_user, secrets.schema_owner, name)
        _apply_migrations(owner_dsn)
        with psycopg.connect(owner_dsn, autocommit=True) as conn:
            grant_application(conn, db.app_user)
            # A scratch database is emptied between cases by whoever uses it (the ledger's trigger
            # still refuses).
            conn.execute(
                sql.SQL("GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO {}").format(sql.Identifier(db.app_user))
            )
        dsn = front_door_dsn(topo, db.app_user, secrets.app, name)
        with psycopg.connect(dsn) as conn:
            conn.execute(REFERENCE_DATA.read_text())
        yield dsn
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(drop)
