"""The drill archive: signed reports and a hash-chained ledger, kept as plain files.

Layout under the archive root:

    reports/<id>/report.json    canonical_json(report), written once
    reports/<id>/report.sig     base64 Ed25519 signature over report.json's bytes, one line
    reports/<id>/<artifact>     files listed in report.artifacts with their sha256
    ledger/000001.json ...      one entry per report; each carries the previous entry's hash
    keys/drill-signing.pem      private key (0600); keys/drill-signing.pub.pem for auditors

The pure part (`LedgerEntry`, `make_entry`, `verify_chain`, `verify_report`, `compare_with_mirror`)
does no I/O; `Archive` reads and writes the files. The chain shows an edited, removed or reordered
entry, but not the loss of the newest entries: a report directory without entry shows that, and a
mirror (`LedgerMirror`, e.g. a database table) kept elsewhere shows the rest.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Protocol, runtime_checkable

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from drills import signing
from drills.report import Artifact, DrillReport, canonical_json, parse_report
from drills.signing import Ed25519PrivateKey, Ed25519PublicKey

GENESIS_HASH = "0" * 64  # prev_hash of entry 1
REPORT_FILE = "report.json"
SIGNATURE_FILE = "report.sig"
KEY_FILE = Path("keys") / "drill-signing.pem"
# Renderings of the signed report.json, written after signing and re-made by `ccdr drill report`:
# not evidence themselves, so not listed (the JSON they render is).
RENDERINGS = frozenset({"report.html", "report.pdf"})
_RESERVED = frozenset({REPORT_FILE, SIGNATURE_FILE}) | RENDERINGS
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # one path component: no "/", no "..", not hidden
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


def _plain_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a plain file name (letters, digits, '.', '_', '-')")
    return value


PlainName = Annotated[str, AfterValidator(_plain_name)]
Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Problem(_Frozen):
    """One thing that does not verify: where (e.g. "ledger entry 3", "report <id>") and what, in one sentence."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


class LedgerEntry(_Frozen):
    """One report in the ledger; `entry_hash` covers every other field, `prev_hash` links to the entry before."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    seq: int = Field(ge=1)
    report_id: PlainName
    report_sha256: Hex64
    artifacts: dict[PlainName, Hex64] = Field(default_factory=dict)  # file name -> sha256
    signed_at: str  # ISO 8601, as given by the signer
    key_id: str
    signature: str  # the report's signature, as in report.sig
    prev_hash: Hex64
    entry_hash: Hex64

    def computed_hash(self) -> str:
        """sha256 of the canonical JSON (sorted keys, compact) of every field but `entry_hash`."""
        fields: dict[str, Any] = self.model_dump(mode="json", exclude={"entry_hash"})
        return sha256_hex(json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())


def make_entry(
    prev: LedgerEntry | None,
    report_id: str,
    report_bytes: bytes,
    artifacts: Mapping[str, bytes],
    signature: str,
    key_id: str,
    signed_at: str,
) -> LedgerEntry:
    """The entry after `prev` (the first when None) for a signed report and its artifacts' contents."""
    fields: dict[str, Any] = {
        "seq": 1 if prev is None else prev.seq + 1,
        "report_id": report_id,
        "report_sha256": sha256_hex(report_bytes),
        "artifacts": {name: sha256_hex(data) for name, data in sorted(artifacts.items())},
        "signed_at": signed_at,
        "key_id": key_id,
        "signature": signature,
        "prev_hash": GENESIS_HASH if prev is None else prev.entry_hash,
    }
    draft = LedgerEntry(**fields, entry_hash=GENESIS_HASH)
    return LedgerEntry(**fields, entry_hash=draft.computed_hash())


def _gaps(prev: LedgerEntry | None, next_seq: int, present: set[int]) -> list[Problem]:
    """The entries skipped between `prev` and `next_seq` that are nowhere in the chain, as runs."""
    missing = [seq for seq in range(1 if prev is None else prev.seq + 1, next_seq) if seq not in present]
    how = f"the chain starts at {next_seq}" if prev is None else f"the chain jumps from {prev.seq} to {next_seq}"
    runs: list[list[int]] = []
    for seq in missing:
        if runs and runs[-1][-1] == seq - 1:
            runs[-1].append(seq)
        else:
            runs.append([seq])
    return [
        Problem(
            where=f"ledger entry {run[0]}" if len(run) == 1 else f"ledger entries {run[0]}-{run[-1]}",
            what=f"missing ({how})",
        )
        for run in runs
    ]


def verify_chain(entries: Sequence[LedgerEntry]) -> list[Problem]:
    """Problems of the chain in the given order: gaps in seq, entries whose hash does not recompute, broken links."""
    problems: list[Problem] = []
    prev: LedgerEntry | None = None  # the highest entry so far
    first_seen: dict[str, int] = {}
    present = {entry.seq for entry in entries}
    for entry in entries:
        where = f"ledger entry {entry.seq}"
        if entry.computed_hash() != entry.entry_hash:
            problems.append(Problem(where=where, what="its entry_hash does not match its contents (it was edited)"))
        expected = 1 if prev is None else prev.seq + 1
        if entry.seq < expected:
            problems.append(Problem(where=where, what=f"out of order: it comes after entry {expected - 1}"))
        else:
            if entry.seq > expected:
                # The link across a jump cannot be checked: the entry it names is not the one before.
                problems.extend(_gaps(prev, entry.seq, present))
            elif prev is None and entry.prev_hash != GENESIS_HASH:
                problems.append(Problem(where=where, what="its prev_hash is not 64 zeros, as the first one must be"))
            elif prev is not None and entry.prev_hash != prev.entry_hash:
                problems.append(
                    Problem(
                        where=where,
                        what=f"its prev_hash does not match entry {prev.seq}'s entry_hash "
                        f"(entry {prev.seq} was changed or replaced)",
                    )
                )
            prev = entry
        if entry.report_id in first_seen:
            problems.append(
                Problem(where=where, what=f"report {entry.report_id} is already in entry {first_seen[entry.report_id]}")
            )
        else:
            first_seen[entry.report_id] = entry.seq
    return problems


def verify_report(
    entry: LedgerEntry,
    report_bytes: bytes | None,
    signature_line: str | None,
    artifact_bytes: Mapping[str, bytes | None],
    public_key: Ed25519PublicKey,
) -> list[Problem]:
    """Problems of one report's files against its ledger entry; None stands for a missing file.

    Digest mismatches read "(sha256 <found> != <in the ledger>)".
    """
    where = f"report {entry.report_id}"
    problems: list[Problem] = []

    def add(what: str) -> None:
        problems.append(Problem(where=where, what=what))

    kid = signing.key_id(public_key)
    if entry.key_id != kid:
        add(f"ledger entry {entry.seq} names signing key {entry.key_id}, but the verifying key is {kid}")

    file_signature = None if signature_line is None else signature_line.strip()
    if file_signature is None:
        add(f"{SIGNATURE_FILE} is missing")
    elif file_signature != entry.signature:
        add(f"{SIGNATURE_FILE} differs from the signature in ledger entry {entry.seq}")

    if report_bytes is None:
        add(f"{REPORT_FILE} is missing")
    else:
        found = sha256_hex(report_bytes)
        if found != entry.report_sha256:
            add(f"{REPORT_FILE} was altered (sha256 {found} != {entry.report_sha256})")
        if file_signature is not None and not signing.verify_signature(public_key, report_bytes, file_signature):
            add(f"the signature in {SIGNATURE_FILE} does not verify over {REPORT_FILE} with key {kid}")
        if entry.signature != file_signature and not signing.verify_signature(
            public_key, report_bytes, entry.signature
        ):
            add(f"the signature in ledger entry {entry.seq} does not verify over {REPORT_FILE} with key {kid}")
        problems.extend(_report_contents(entry, report_bytes, where))

    for name, recorded in sorted(entry.artifacts.items()):
        data = artifact_bytes.get(name)
        if data is None:
            add(f"{name} is missing")
        elif (found := sha256_hex(data)) != recorded:
            add(f"{name} was altered (sha256 {found} != {recorded})")
    return problems


def _report_contents(entry: LedgerEntry, report_bytes: bytes, where: str) -> list[Problem]:
    """The report's own id and artifact list against the entry."""
    try:
        report = parse_report(report_bytes)
    except ValueError as exc:
        return [Problem(where=where, what=f"{REPORT_FILE} is not a valid drill report ({_first_error(exc)})")]
    problems: list[Problem] = []
    if report.id != entry.report_id:
        problems.append(Problem(where=where, what=f"{REPORT_FILE} carries the id {report.id!r}"))
    listed = {a.name: a.sha256 for a in report.artifacts}
    for name in sorted(listed.keys() | entry.artifacts.keys()):
        if name not in entry.artifacts:
            what = f"{REPORT_FILE} lists the artifact {name}, which ledger entry {entry.seq} does not"
        elif name not in listed:
            what = f"ledger entry {entry.seq} lists the artifact {name}, which {REPORT_FILE} does not"
        elif listed[name] != entry.artifacts[name]:
            what = f"{REPORT_FILE} and ledger entry {entry.seq} disagree on the sha256 of {name}"
        else:
            continue
        problems.append(Problem(where=where, what=what))
    return problems


def _first_error(exc: ValueError) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        err = exc.errors()[0]
        loc = ".".join(str(part) for part in err["loc"])
        return f"{loc}: {err['msg']}" if loc else err["msg"]
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


# -- the mirror ------------------------------------------------------------------------------


@runtime_checkable
class LedgerMirror(Protocol):
    """A second copy of the ledger kept elsewhere (e.g. a database table), to compare with the files."""

    def append(self, entry: LedgerEntry) -> None: ...

    def entries(self) -> list[LedgerEntry]: ...


def compare_with_mirror(files: Sequence[LedgerEntry], mirror: Sequence[LedgerEntry]) -> list[Problem]:
    """Entries, by seq, that differ between the ledger files and the mirror or exist in only one of them."""
    by_file: dict[int, list[LedgerEntry]] = defaultdict(list)
    by_mirror: dict[int, list[LedgerEntry]] = defaultdict(list)
    for entry in files:
        by_file[entry.seq].append(entry)
    for entry in mirror:
        by_mirror[entry.seq].append(entry)
    problems: list[Problem] = []
    for seq in sorted(by_file.keys() | by_mirror.keys()):
        where = f"ledger entry {seq}"
        in_files, in_mirror = by_file.get(seq, []), by_mirror.get(seq, [])
        for source, found in (("ledger files", in_files), ("mirror", in_mirror)):
            if len(found) > 1:
                problems.append(Problem(where=where, what=f"appears {len(found)} times in the {source}"))
        if not in_mirror:
            problems.append(Problem(where=where, what="is in the ledger files but not in the mirror"))
        elif not in_files:
            problems.append(Problem(where=where, what="is in the mirror but not in the ledger files"))
        elif in_files[0] != in_mirror[0]:
            fields = [f for f in LedgerEntry.model_fields if getattr(in_files[0], f) != getattr(in_mirror[0], f)]
            what = f"differs between the ledger files and the mirror ({', '.join(fields)})"
            problems.append(Problem(where=where, what=what))
    return problems


# -- files -----------------------------------------------------------------------------------


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
