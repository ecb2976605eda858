"""Backups of the lab's Patroni cluster with pgBackRest, to a repository at the witness site.

- Each database site's PostgreSQL archives every WAL segment it closes (`archive_command`, on
  the primary only), and closes one at least every `backup.wal_switch_s`: that bounds what a
  restore can miss.
- The witness keeps the repository and runs the backups: it reaches both database sites over
  pgBackRest's TLS server (mutual TLS: each side admits the other's certificate by name), finds
  the primary itself and takes the backup from it.
- A backup is checked by restoring it: `restore` replays the repository into a scratch cluster at
  the witness up to a point in time, promotes it and reads what it holds.

Every pgBackRest process runs as the `postgres` user (the database's files and the repository
belong to it); the certificates are the lab CA's (infra.lab.pki.backup_tls_name).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from infra.lab import backup_repair
from infra.lab.backup_check import Verified, compare
from infra.lab.backup_config import PGBACKREST, USER, config_path, scratch_dir
from infra.lab.errors import CommandFailed, LabError
from infra.lab.layout import PG_BIN_DIR, LabLayout
from infra.lab.system import run

__all__ = [
    "Repaired",
    "Restored",
    "archive_now",
    "backup",
    "ensure_stanza",
    "info",
    "last_verified",
    "repair",
    "restore",
    "scratch_dir",
    "verify",
]
REPAIR_ACTOR = "ccdr backup repair"
REPAIR_EVENT = "repaired_from_backup"


# -- commands (run at the witness, in its namespace, as postgres) ------------------------------
def _pgbackrest(layout: LabLayout, *args: str, timeout: float) -> str:
    topo = layout.topology
    config = config_path(layout.site(topo.witness_site))
    command = [str(PGBACKREST), f"--config={config}", f"--stanza={topo.backup.stanza}", *args]
    try:
        return _as_postgres_at_witness(layout, command, timeout)
    except CommandFailed as exc:
        raise LabError(f"pgbackrest {args[-1]}: {exc.detail}") from None
    except subprocess.TimeoutExpired:
        raise LabError(f"pgbackrest {args[-1]}: no answer within {timeout:g} s") from None


def ensure_stanza(layout: LabLayout) -> bool:
    """Create the repository's stanza once (it records the cluster's system id); True if created."""
    if info(layout).get("status", {}).get("code") != 1:  # 1: "missing stanza path"
        return False
    _pgbackrest(layout, "stanza-create", timeout=layout.topology.backup.archive_timeout_s + 60)
    return True


def backup(layout: LabLayout, kind: str = "full") -> dict[str, Any]:
    """Take a backup from the primary, wherever it is; the repository's record of it."""
    b = layout.topology.backup
    _pgbackrest(layout, f"--type={kind}", "backup", timeout=b.restore_timeout_s)
    backups = info(layout).get("backup", [])
    if not backups:
        raise LabError("pgbackrest backup: it ended but the repository lists no backup")
    return dict(backups[-1])


def archive_now(admin_dsn: str, timeout_s: float) -> None:
    """Close the primary's current WAL segment and wait until the primary has archived it: a restore
    to a moment just past can then reach it. (Not `pgbackrest check`: it lists every database
    host's data directory and fails while a site is down, when a repair may be needed most.)"""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        row = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
        if row is None:
            raise LabError("archive: the primary did not switch its WAL segment")
        segment = str(row[0])[8:]  # log and segment, not the timeline: a failover may start a new one
        deadline = time.monotonic() + timeout_s
        while True:
            last = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()
            if last is not None and last[0] is not None and str(last[0])[8:] >= segment:
                return
            if time.monotonic() > deadline:
                raise LabError(f"archive: WAL segment {segment} not archived within {timeout_s:g} s")
            time.sleep(0.5)


def info(layout: LabLayout) -> dict[str, Any]:
    """The stanza's entry of `pgbackrest info` (status, backups oldest first, WAL archive range)."""
    stanzas = json.loads(_pgbackrest(layout, "--output=json", "info", timeout=60) or "[]")
    return dict(stanzas[0]) if stanzas else {}


@dataclass(frozen=True)
class Restored:
    target: datetime | None  # None: to the end of the archive
    seconds: float  # restore, replay and promotion
    latest_commit: datetime | None  # the newest ticket's creation in the copy
    codes: set[str]  # the codes of the tickets it holds (a check against what clients were told)
    # Per Kafka partition of the intake topic, the first offset the copy has not applied: replaying
    # the topic from there (the intake ledger makes re-application harmless) brings back the rest.
    replay_from: dict[int, int] = field(default_factory=dict)
    subjects: frozenset[str] = frozenset()  # the subjects matching `subjects_like`, if asked

    @property
    def tickets(self) -> int:
        return len(self.codes)


def restore(
    layout: LabLayout,
    target: datetime | None,
    *,
    keep: bool = False,
    created_until: datetime | None = None,
    subjects_like: str | None = None,
) -> Restored:
    """Rebuild the database from the repository into a scratch cluster at the witness, replayed to
    `target` (or to the end of the archive) and promoted; read what it holds (the tickets created
    until `created_until`, if given; the subjects LIKE `subjects_like`, if given); remove it unless
    `keep`. The production cluster is not touched, and the copy archives nothing."""
    topo = layout.topology
    b = topo.backup
    scratch = scratch_dir(layout)
    _stop_scratch(layout)
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    shutil.chown(scratch, USER, USER)
    scratch.chmod(0o700)
    started = time.monotonic()
    args = ["--reset-pg1-host", "--reset-pg2-host", f"--pg1-path={scratch}", "--archive-mode=off"]
    if target is not None:
        args += ["--type=time", f"--target={target.isoformat(sep=' ')}", "--target-action=promote"]
    _pgbackrest(layout, *args, "restore", timeout=b.restore_timeout_s)
    read = False
    try:
        _start_scratch(layout)
        _wait_promoted(layout, started + b.restore_timeout_s)
        seconds = time.monotonic() - started
        latest, codes = _read_scratch(layout, created_until)
        replay_from = _replay_from(layout)
        subjects = _subjects(layout, subjects_like) if subjects_like is not None else frozenset()
        read = True
    finally:
        if not (keep and read):  # a copy that failed half-way is never left running
            discard_scratch(layout)
    return Restored(target, seconds, latest, codes, replay_from, subjects)


def discard_scratch(layout: LabLayout) -> None:
    _stop_scratch(layout)
    shutil.rmtree(scratch_dir(layout), ignore_errors=True)


def _as_postgres_at_witness(layout: LabLayout, command: list[str], timeout: float) -> str:
    namespace = layout.topology.site(layout.topology.witness_site).namespace
    return run(["ip", "netns", "exec", namespace, "runuser", "-u", USER, "--", *command], timeout=timeout)


def _socket_dir(layout: LabLayout) -> Path:
    return scratch_dir(layout).parent


def _start_scratch(layout: LabLayout) -> None:
    """PostgreSQL on the restored directory: local socket only, no archiving, no replication."""
    b = layout.topology.backup
    options = (
        f"-c port={b.restore_port} -c listen_addresses='' -c unix_socket_directories='{_socket_dir(layout)}' "
        "-c archive_mode=off -c hot_standby=on -c ssl=off -c synchronous_standby_names=''"
    )
    log = _scratch_log(layout)
    command = [str(PG_BIN_DIR / "pg_ctl"), "-D", str(scratch_dir(layout)), "-l", str(log), "-o", options, "-w"]
    _as_postgres_at_witness(layout, [*command, "start"], timeout=b.restore_timeout_s)


def _stop_scratch(layout: LabLayout) -> None:
    if (scratch_dir(layout) / "postmaster.pid").exists():
        command = [str(PG_BIN_DIR / "pg_ctl"), "-D", str(scratch_dir(layout)), "-m", "immediate", "stop"]
        _as_postgres_at_witness(layout, command, timeout=60)


def _psql(layout: LabLayout, sql: str, timeout: float = 60) -> str:
    b, topo = layout.topology.backup, layout.topology
    command = [
        str(PG_BIN_DIR / "psql"),
        "-h",
        str(_socket_dir(layout)),
        "-p",
        str(b.restore_port),
        "-d",
        topo.database.name,
        "-AtX",
        "-c",
        sql,
    ]
    return _as_postgres_at_witness(layout, command, timeout=timeout).strip()


def _wait_promoted(layout: LabLayout, deadline: float) -> None:
    while True:
        try:
            if _psql(layout, "SELECT pg_is_in_recovery()") == "f":
                return
        except CommandFailed:
            pass  # still starting up
        if not (scratch_dir(layout) / "postmaster.pid").exists():  # it stopped: say why, now
            raise LabError(f"restore: the scratch cluster stopped before promoting: {_last_fatal(layout)}")
        if time.monotonic() > deadline:
            raise LabError("restore: the scratch cluster did not reach its target and promote in time")
        time.sleep(0.5)


def _last_fatal(layout: LabLayout) -> str:
    """The scratch PostgreSQL's last FATAL line (e.g. "recovery ended before configured recovery
    target was reached": the archive ends before the target)."""
    try:
        lines = _scratch_log(layout).read_text(errors="replace").splitlines()
    except OSError:
        return "no log"
    fatal = [line.split("FATAL:", 1)[1].strip() for line in lines if "FATAL:" in line]
    return fatal[-1] if fatal else "see " + str(_scratch_log(layout))


def _scratch_log(layout: LabLayout) -> Path:
    return layout.site(layout.topology.witness_site).logs / "pgbackrest" / "restore-postgres.log"


def _read_scratch(layout: LabLayout, until: datetime | None) -> tuple[datetime | None, set[str]]:
    where = f"WHERE created_at <= '{until.isoformat()}'::timestamptz" if until else ""  # our own datetime, not input
    stamp = _psql(layout, f"SELECT max(created_at) FROM tickets {where}")
    codes = set(_psql(layout, f"SELECT code FROM tickets {where}").split())
    return (datetime.fromisoformat(stamp) if stamp else None), codes


def _replay_from(layout: LabLayout) -> dict[int, int]:
    rows = _psql(layout, "SELECT kafka_partition, max(kafka_offset) + 1 FROM intakes GROUP BY 1")
    return {int(p): int(o) for p, o in (line.split("|") for line in rows.splitlines() if line)}


def _subjects(layout: LabLayout, pattern: str) -> frozenset[str]:
    where = f"subject LIKE {_literal(pattern)}"
    text = _psql(layout, f"SELECT coalesce(json_agg(subject), '[]') FROM tickets WHERE {where}")
    return frozenset(json.loads(text))


def _literal(text: str) -> str:
    """A SQL string literal (psql -c takes no parameters; the pattern is ours, quoted all the same)."""
    return "'" + text.replace("'", "''") + "'"


def _intake_columns_sql(columns: tuple[str, ...], until: datetime) -> str:
    """Per ticket created until `until`, its code and one JSON object {column: value}: the same
    query on the scratch cluster and the cluster (columns are checked names, not input). A row per
    ticket, not one aggregate: a large desk must not meet PostgreSQL's limit on one value."""
    pairs = ", ".join(f"'{c}', {c}" for c in columns)
    return (
        f"SELECT code, json_build_object({pairs}) FROM tickets "
        f"WHERE created_at <= {_literal(until.isoformat())}::timestamptz"
    )


def _read_copy_rows(layout: LabLayout, sql: str) -> dict[str, Any]:
    """psql -At prints `code|{json}` per row; a code holds no `|` (core.domain ticket codes)."""
    text = _psql(layout, sql, timeout=layout.topology.backup.restore_timeout_s)
    rows = (line.split("|", 1) for line in text.splitlines() if line)
    return {code: json.loads(values) for code, values in rows}


@dataclass(frozen=True)
class Repaired:
    to: datetime  # the copy's point in time
    columns: tuple[str, ...]
    restore_s: float  # archive, restore, replay and promotion of the copy
    seconds: float  # the whole repair, the restore included
    examined: int  # tickets the copy and the cluster both hold
    changes: dict[str, dict[str, Any]]  # code -> the copy's values written back
    applied: bool  # False: a dry run

    def record(self) -> dict[str, Any]:
        return {
            "to": self.to.isoformat(),
            "columns": list(self.columns),
            "restore_s": round(self.restore_s, 2),
            "seconds": round(self.seconds, 2),
            "examined": self.examined,
            "repaired": sorted(self.changes),
            "applied": self.applied,
        }


def repair(
    layout: LabLayout,
    app_dsn: str,
    admin_dsn: str,
    to: datetime,
    columns: tuple[str, ...],
    *,
    dry_run: bool = False,
) -> Repaired:
    """Put back, from a copy restored to `to`, the intake columns a bad release changed in tickets
    that existed then (infra.lab.backup_repair says which columns may be). One transaction through
    the ticket service's own role (`app_dsn`); each repaired ticket gets a `repaired_from_backup`
    event. `admin_dsn` only closes the primary's WAL segment first."""
    wanted = backup_repair.repairable(columns)
    started = time.monotonic()
    archive_now(admin_dsn, layout.topology.backup.archive_timeout_s)  # so the restore can reach `to`
    restored = restore(layout, to, keep=True)
    try:
        copy = _read_copy_rows(layout, _intake_columns_sql(wanted, to))
    finally:
        discard_scratch(layout)
    with psycopg.connect(app_dsn) as conn:
        cluster = {str(code): values for code, values in conn.execute(_intake_columns_sql(wanted, to)).fetchall()}
        found = backup_repair.changes(copy, cluster, wanted)
        if not dry_run:
            for code, values in found.items():
                _write_back(conn, code, values, to)
    examined = len(copy.keys() & cluster.keys())
    return Repaired(to, wanted, restored.seconds, time.monotonic() - started, examined, found, not dry_run)


def _write_back(conn: psycopg.Connection[Any], code: str, values: dict[str, Any], to: datetime) -> None:
    params = {c: Jsonb(v) if c in backup_repair.JSONB_COLUMNS else v for c, v in values.items()}
    assignments = ", ".join(f"{c} = %({c})s" for c in values)  # checked names (backup_repair.repairable)
    row = conn.execute(
        f"UPDATE tickets SET {assignments}, version = version + 1, updated_at = now() WHERE code = %(code)s "
        "RETURNING version",
        params | {"code": code},
    ).fetchone()
    if row is None:
        raise LabError(f"repair: ticket {code} vanished while being repaired")
    data = {"columns": sorted(values), "restored_to": to.isoformat()}
    conn.execute(
        "INSERT INTO ticket_events (ticket_code, seq, kind, actor, data) VALUES (%s, %s, %s, %s, %s)",
        (code, row[0], REPAIR_EVENT, REPAIR_ACTOR, Jsonb(data)),
    )


def verify(layout: LabLayout, admin_dsn: str) -> Verified:
    """Check the backups by restoring them: the copy rebuilt to the end of the archive against the
    cluster's tickets when the check began (read through `admin_dsn`). Recorded beside the
    repository; `last_verified` reads it back."""
    at = datetime.now(UTC)
    with psycopg.connect(admin_dsn) as conn:
        rows = conn.execute("SELECT code, created_at FROM tickets WHERE created_at <= %s", (at,)).fetchall()
    cluster = {str(code): created for code, created in rows}
    restored = restore(layout, None, created_until=at)
    verdict = compare(at, restored.seconds, cluster, restored.codes, restored.latest_commit)
    with _verified_log(layout).open("a") as log:
        log.write(json.dumps(verdict.record()) + "\n")
    return verdict


def _verified_log(layout: LabLayout) -> Path:
    return _socket_dir(layout) / "verified.jsonl"


def last_verified(layout: LabLayout) -> dict[str, Any] | None:
    path = _verified_log(layout)
    if not path.exists():
        return None
    lines = path.read_text().splitlines()
    return dict(json.loads(lines[-1])) if lines else None
