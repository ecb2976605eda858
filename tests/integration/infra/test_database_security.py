"""The database's links and roles: TLS only, with the server's name verified; the services' role
reads and writes rows, nothing more."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from infra.lab import probes
from infra.lab.database import front_door_dsn
from infra.lab.pki import ca_file
from infra.lab.render import PATRONI_REST_USER
from tests.integration.core.conftest import Front


def _app_dsn(front: Front, **options: str) -> str:
    db = front.topo.database
    return psycopg.conninfo.make_conninfo(
        front_door_dsn(front.topo, db.app_user, front.secrets.app, db.name), **options
    )


def test_every_connection_is_encrypted_and_the_server_verified(front: Front) -> None:
    with psycopg.connect(_app_dsn(front)) as conn:  # the lab's own options: verify-full against the lab CA
        assert conn.pgconn.ssl_in_use
        assert conn.execute("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (
            True,
            "TLSv1.3",
        )
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        psycopg.connect(_app_dsn(front, sslmode="disable")).close()
    # The certificate names the front door's address, not "localhost": a client checking names refuses it.
    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        psycopg.connect(_app_dsn(front, host="localhost")).close()
    # Replication between the sites is encrypted too (seen by the superuser: others do not see walsenders).
    admin = front_door_dsn(front.topo, "postgres", front.secrets.superuser, "postgres")
    with psycopg.connect(admin) as conn:
        replication = conn.execute("SELECT ssl FROM pg_stat_ssl JOIN pg_stat_replication USING (pid)").fetchall()
    assert replication == [(True,)]


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE intruder (id int)",
        "ALTER TABLE tickets ADD COLUMN intruder text",
        "DROP TABLE agent_logins",
        "TRUNCATE agent_logins",
        "DELETE FROM _yoyo_migration",
        "CREATE SCHEMA intruder",
    ],
)
def test_the_application_role_cannot_change_the_schema_or_empty_a_table(front: Front, statement: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        front.sql(statement)


def test_the_application_role_owns_nothing(front: Front) -> None:
    app = front.topo.database.app_user
    owned = front.sql(
        """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = %s""",
        app,
    )
    assert owned == []
    assert front.sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()") == [
        (front.topo.database.owner_user,)
    ]


def test_patronis_api_is_https_only_and_changes_need_credentials(front: Front) -> None:
    site = front.topo.data_sites[0]
    api = probes.patroni_api(front.topo, site)
    ca = probes.trusting(str(ca_file(front.topo)))
    assert httpx.get(f"{api}/patroni", verify=ca, timeout=5).status_code == 200  # health stays open, over TLS
    with pytest.raises(httpx.TransportError):  # no plain HTTP
        httpx.get(api.replace("https://", "http://") + "/patroni", timeout=5)
    for method, path in (("POST", "/switchover"), ("POST", "/restart"), ("PATCH", "/config")):
        r = httpx.request(method, f"{api}{path}", json={}, verify=ca, timeout=5)
        assert r.status_code == 401, (method, path, r.status_code, r.text)
    wrong = httpx.post(f"{api}/restart", json={}, verify=ca, timeout=5, auth=(PATRONI_REST_USER, "not-the-password"))
    assert wrong.status_code == 401
