"""The drill ledger's hash chain, pure: entries, their verification and the mirror comparison; no I/O.

Each signed report gets one `LedgerEntry`, whose `entry_hash` covers its fields and whose `prev_hash`
is the previous entry's hash. `make_entry` builds the next entry; `verify_chain` finds edited,
removed or reordered entries; `verify_report` checks one report's contents (given as bytes) against
its entry; `compare_with_mirror` checks the entries against a second copy (`LedgerMirror`, e.g. a
database table) kept elsewhere, which shows the loss of the newest entries that the chain cannot.
The files they are kept in are `drills.archive`'s.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Protocol, runtime_checkable

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, ValidationError

from drills import signing
from drills.model import Frozen
from drills.report import parse_report
from drills.signing import Ed25519PublicKey

GENESIS_HASH = "0" * 64  # prev_hash of entry 1
# The report's file names, as `verify_report` names them; `drills.archive` writes them.
REPORT_FILE = "report.json"
SIGNATURE_FILE = "report.sig"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # one path component: no "/", no "..", not hidden


def _plain_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a plain file name (letters, digits, '.', '_', '-')")
    return value


PlainName = Annotated[str, AfterValidator(_plain_name)]
Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Problem(Frozen):
    """One thing that does not verify: where (e.g. "ledger entry 3", "report <id>") and what, in one sentence."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


class LedgerEntry(Frozen):
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
