"""Least privilege in the database: the services' role reads and writes rows, nothing more."""

from __future__ import annotations

import psycopg
import pytest

from tests.integration.core.conftest import Front


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
