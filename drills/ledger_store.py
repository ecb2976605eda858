"""The ledger's copy in PostgreSQL (table `drill_ledger`, migration 0004): append-only, replicated
to both sites. The files in the archive stay the primary record; `ccdr drill verify` compares them."""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

from drills.ledger import LedgerEntry
from infra.lab import secrets as lab_secrets
from infra.lab.database import app_dsn
from infra.lab.layout import LabLayout
from infra.topology import Topology

CONNECT_TIMEOUT_S = 5


class PostgresLedger:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    @classmethod
    def for_lab(cls, topo: Topology) -> PostgresLedger:
        secrets = lab_secrets.load(LabLayout(topo))
        return cls(app_dsn(topo, secrets.app))

    def append(self, entry: LedgerEntry) -> None:
        """Idempotent for the same entry; a different entry under the same seq is refused by the key."""
        with psycopg.connect(self.dsn, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            row = conn.execute("SELECT entry FROM drill_ledger WHERE seq = %s", (entry.seq,)).fetchone()
            if row is not None and LedgerEntry.model_validate(row[0], strict=False) == entry:
                return
            conn.execute(
                "INSERT INTO drill_ledger (seq, report_id, entry, entry_hash) VALUES (%s, %s, %s, %s)",
                (entry.seq, entry.report_id, Jsonb(entry.model_dump(mode="json")), entry.entry_hash),
            )

    def entries(self) -> list[LedgerEntry]:
        with psycopg.connect(self.dsn, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            rows = conn.execute("SELECT entry FROM drill_ledger ORDER BY seq").fetchall()
        return [LedgerEntry.model_validate(r[0], strict=False) for r in rows]
