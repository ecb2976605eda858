"""The drill archive: signed reports and their ledger entries, kept as plain files.

Layout under the archive root:

    reports/<id>/report.json    canonical_json(report), written once
    reports/<id>/report.sig     base64 Ed25519 signature over report.json's bytes, one line
    reports/<id>/<artifact>     files listed in report.artifacts with their sha256
    ledger/000001.json ...      one entry per report; each carries the previous entry's hash
    keys/drill-signing.pem      private key (0600); keys/drill-signing.pub.pem for auditors

`Archive` reads and writes these files (atomically, appends serialised by a lock) and checks them
with the pure hash chain in `drills.ledger`. A report directory without entry shows the loss of the
newest entries, which the chain alone cannot.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from drills import signing
from drills.ledger import (
    _NAME,
    REPORT_FILE,
    SIGNATURE_FILE,
    LedgerEntry,
    Problem,
    _first_error,
    make_entry,
    sha256_hex,
    verify_chain,
    verify_report,
)
from drills.report import Artifact, DrillReport, canonical_json, parse_report
from drills.signing import Ed25519PrivateKey, Ed25519PublicKey

KEY_FILE = Path("keys") / "drill-signing.pem"
# Renderings of the signed report.json, written after signing and re-made by `ccdr drill report`:
# not evidence themselves, so not listed (the JSON they render is).
RENDERINGS = frozenset({"report.html", "report.pdf"})
_RESERVED = frozenset({REPORT_FILE, SIGNATURE_FILE}) | RENDERINGS
_LEDGER_FILE = re.compile(r"(\d{6,})\.json")

# Fixed rather than from `mimetypes`, whose answers depend on the host, and the media type is signed.
MEDIA_TYPES = {
    ".json": "application/json",
    ".jsonl": "application/x-ndjson",
    ".html": "text/html",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".csv": "text/csv",
    ".txt": "text/plain",
    ".log": "text/plain",
    ".xml": "application/xml",
    ".gz": "application/gzip",
}


class ArchiveError(Exception):
    """An archive operation that cannot be carried out; the message says why."""


def artifact_list(artifacts: Mapping[str, bytes], media_types: Mapping[str, str] | None = None) -> tuple[Artifact, ...]:
    """`report.artifacts` for these files, by name; media types from `media_types`, else by extension."""
    media_types = media_types or {}
    result = []
    for name, data in sorted(artifacts.items()):
        media_type = media_types.get(name) or MEDIA_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")
        result.append(Artifact(name=name, sha256=sha256_hex(data), media_type=media_type))
    return tuple(result)


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with path.open("xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


class Archive:
    """The drill archive under `root`: see the module docstring for the layout."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.reports_root = self.root / "reports"
        self.ledger_root = self.root / "ledger"
        self.key_path = self.root / KEY_FILE
        self.public_key_path = signing.public_key_path(self.key_path)

    # -- reading ---------------------------------------------------------------------------

    def report_dir(self, report_id: str) -> Path:
        if not _NAME.fullmatch(report_id):
            raise ArchiveError(f"{report_id!r} is not a valid report id (letters, digits, '.', '_', '-')")
        return self.reports_root / report_id

    def report_ids(self) -> list[str]:
        """Names of the report directories, sorted (hidden ones are unfinished appends)."""
        if not self.reports_root.is_dir():
            return []
        return sorted(p.name for p in self.reports_root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def load_report(self, report_id: str) -> DrillReport:
        path = self.report_dir(report_id) / REPORT_FILE
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise ArchiveError(f"report {report_id} is not in the archive ({path} does not exist)") from None
        return parse_report(raw)

    def read_entries(self) -> tuple[list[LedgerEntry], list[Problem]]:
        """Every readable ledger entry in file order, and a Problem for each file that is not one."""
        if not self.ledger_root.is_dir():
            return [], []
        numbered: list[tuple[int, Path]] = []
        problems: list[Problem] = []
        for path in self.ledger_root.iterdir():
            if path.name.startswith("."):  # the lock and unfinished writes
                continue
            m = _LEDGER_FILE.fullmatch(path.name)
            if m is None or not path.is_file():
                problems.append(Problem(where=f"ledger file {path.name}", what="is not a ledger entry (NNNNNN.json)"))
            else:
                numbered.append((int(m[1]), path))
        entries: list[LedgerEntry] = []
        for number, path in sorted(numbered):
            where = f"ledger file {path.name}"
            try:
                entry = LedgerEntry.model_validate_json(path.read_bytes())
            except OSError as exc:
                problems.append(Problem(where=where, what=f"cannot be read ({exc.strerror})"))
                continue
            except ValidationError as exc:
                problems.append(Problem(where=where, what=f"is not a valid ledger entry ({_first_error(exc)})"))
                continue
            if entry.seq != number:
                problems.append(Problem(where=where, what=f"holds entry {entry.seq}, not entry {number}"))
            entries.append(entry)
        return entries, problems

    def entries(self) -> list[LedgerEntry]:
        """Every ledger entry in file order; ArchiveError when a ledger file cannot be read."""
        entries, problems = self.read_entries()
        if problems:
            raise ArchiveError("; ".join(str(p) for p in problems))
        return entries

    # -- writing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialise appends, so two drills never take the same seq."""
        self.ledger_root.mkdir(parents=True, exist_ok=True)
        with (self.ledger_root / ".lock").open("a") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def append(
        self,
        report: DrillReport,
        artifacts: Mapping[str, bytes],
        private_key: Ed25519PrivateKey,
        *,
        signed_at: str | None = None,
    ) -> LedgerEntry:
        """Sign `report`, write it with its artifacts, and add its ledger entry; returns the entry.

        `report.artifacts` must already list these files (build it with `artifact_list`).
        """
        directory = self.report_dir(report.id)
        for name in artifacts:
            if not _NAME.fullmatch(name) or name in _RESERVED:
                raise ArchiveError(f"{name!r} cannot be an artifact name")
        listed = {a.name: a.sha256 for a in report.artifacts}
        given = {name: sha256_hex(data) for name, data in artifacts.items()}
        if listed != given or len(listed) != len(report.artifacts):
            raise ArchiveError(
                f"report {report.id}: its artifacts list ({', '.join(sorted(listed)) or 'none'}) does not match "
                f"the files given ({', '.join(sorted(given)) or 'none'}) name for name and sha256; "
                "build it with artifact_list()"
            )
        report_bytes = canonical_json(report)
        signature = signing.sign(private_key, report_bytes)
        kid = signing.key_id(private_key.public_key())
        signed_at = signed_at or datetime.now(UTC).isoformat(timespec="seconds")

        self.reports_root.mkdir(parents=True, exist_ok=True)
        with self._lock():
            entries, problems = self.read_entries()
            if problems:
                # The next seq follows the last entry, which an unreadable file may hide.
                raise ArchiveError(f"the ledger cannot be extended until this is resolved: {problems[0]}")
            if directory.exists():
                raise ArchiveError(f"report {report.id} already exists ({directory})")
            for e in entries:
                if e.report_id == report.id:
                    raise ArchiveError(f"report {report.id} is already in ledger entry {e.seq}")
            prev = max(entries, key=lambda e: e.seq, default=None)
            entry = make_entry(prev, report.id, report_bytes, artifacts, signature, kid, signed_at)
            self._write_report_dir(directory, report_bytes, signature, artifacts)
            self._write_entry(entry, directory)
        return entry

    def _write_report_dir(
        self, directory: Path, report_bytes: bytes, signature: str, artifacts: Mapping[str, bytes]
    ) -> None:
        """Fill a hidden directory, then rename it into place, so a report directory is never half written."""
        tmp = self.reports_root / f".{directory.name}.{os.getpid()}.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        try:
            for name, data in sorted(artifacts.items()):
                _write_file(tmp / name, data)
            _write_file(tmp / REPORT_FILE, report_bytes)
            _write_file(tmp / SIGNATURE_FILE, f"{signature}\n".encode("ascii"))
            _fsync_dir(tmp)
            os.rename(tmp, directory)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _fsync_dir(self.reports_root)

    def _write_entry(self, entry: LedgerEntry, directory: Path) -> None:
        path = self.ledger_root / f"{entry.seq:06d}.json"
        tmp = self.ledger_root / f".{path.name}.tmp"
        try:
            if path.exists():
                raise ArchiveError(f"{path} already exists")
            tmp.unlink(missing_ok=True)
            _write_file(tmp, (entry.model_dump_json(indent=2) + "\n").encode())
        except BaseException:
            # No entry was written: take the report back out, or it would sit there unledgered.
            shutil.rmtree(directory, ignore_errors=True)
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, path)
        _fsync_dir(self.ledger_root)

    # -- verification ----------------------------------------------------------------------

    def verify(self, report_id: str | None, public_key: Ed25519PublicKey) -> list[Problem]:
        """The chain, and one report (`report_id`) or every report and report directory; [] when all is well."""
        entries, problems = self.read_entries()
        problems.extend(verify_chain(entries))
        by_id: dict[str, LedgerEntry] = {}
        for entry in entries:
            by_id.setdefault(entry.report_id, entry)
        if report_id is not None:
            self.report_dir(report_id)  # refuses ids that are not plain names
            ids = [report_id]
        else:
            ids = sorted(by_id.keys() | set(self.report_ids()))
        for rid in ids:
            problems.extend(self._verify_one(rid, by_id.get(rid), public_key))
        return problems

    def _verify_one(self, report_id: str, entry: LedgerEntry | None, public_key: Ed25519PublicKey) -> list[Problem]:
        where = f"report {report_id}"
        directory = self.reports_root / report_id
        if entry is None:
            if directory.is_dir():
                return [Problem(where=where, what="is not in the ledger (its directory has no ledger entry)")]
            return [Problem(where=where, what="is neither in the ledger nor in the archive")]
        if not directory.is_dir():
            return [Problem(where=where, what=f"its directory is missing (ledger entry {entry.seq} records it)")]
        report_bytes = _read_or_none(directory / REPORT_FILE)
        raw_signature = _read_or_none(directory / SIGNATURE_FILE)
        signature_line = None if raw_signature is None else raw_signature.decode("utf-8", errors="replace")
        artifact_bytes = {name: _read_or_none(directory / name) for name in entry.artifacts}
        problems = verify_report(entry, report_bytes, signature_line, artifact_bytes, public_key)
        for path in sorted(directory.iterdir()):
            if path.name not in entry.artifacts and path.name not in _RESERVED:
                what = f"{path.name} is in its directory but not listed in ledger entry {entry.seq}"
                problems.append(Problem(where=where, what=what))
        return problems
