"""Signed drill reports and the hash-chained ledger: a clean archive verifies, and each alteration is named."""

from __future__ import annotations

import json
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

from drills import signing
from drills.archive import Archive, ArchiveError, artifact_list
from drills.ledger import (
    GENESIS_HASH,
    LedgerEntry,
    LedgerMirror,
    Problem,
    compare_with_mirror,
    make_entry,
    sha256_hex,
    verify_chain,
    verify_report,
)
from drills.report import canonical_json
from tests.unit.drills.factories import make_report

IDS = ("r1", "r2", "r3")


def _artifacts(report_id: str) -> dict[str, bytes]:
    return {
        "journal.json": json.dumps({"status": "completed", "id": report_id}).encode(),
        "history.jsonl": b'{"seq": 0, "outcome": "ok"}\n{"seq": 1, "outcome": "ok"}\n',
        "samples.jsonl": f'{{"report": "{report_id}"}}\n'.encode(),
    }


@dataclass
class Lab:
    archive: Archive
    key: signing.Ed25519PrivateKey
    public_key: signing.Ed25519PublicKey

    def dir(self, report_id: str) -> Path:
        return self.archive.report_dir(report_id)

    def entry_file(self, seq: int) -> Path:
        return self.archive.ledger_root / f"{seq:06d}.json"

    def rewrite_entry(self, seq: int, *, rehash: bool = False, **changes: object) -> None:
        """Edit a ledger file as an attacker would, optionally recomputing its entry_hash."""
        path = self.entry_file(seq)
        data = json.loads(path.read_text())
        data.update(changes)
        if rehash:
            data["entry_hash"] = LedgerEntry.model_validate(data).computed_hash()
        path.write_text(json.dumps(data))


def _add(archive: Archive, key: signing.Ed25519PrivateKey, report_id: str) -> LedgerEntry:
    artifacts = _artifacts(report_id)
    report = make_report(id=report_id, artifacts=artifact_list(artifacts))
    return archive.append(report, artifacts, key, signed_at="2024-05-01T10:00:00+00:00")


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    archive = Archive(tmp_path / "drills")
    key = signing.load_or_create_key(archive.key_path)
    for rid in IDS:
        _add(archive, key, rid)
    return Lab(archive, key, signing.load_public_key(archive.public_key_path))


def _where(problems: list[Problem]) -> set[str]:
    return {p.where for p in problems}


# -- a clean archive -----------------------------------------------------------------------------


def test_clean_archive_of_three_reports_verifies(lab: Lab) -> None:
    assert lab.archive.verify(None, lab.public_key) == []
    for rid in IDS:
        assert lab.archive.verify(rid, lab.public_key) == []

    entries = lab.archive.entries()
    assert [e.seq for e in entries] == [1, 2, 3]
    assert [e.report_id for e in entries] == list(IDS)
    assert entries[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in entries[1:]] == [e.entry_hash for e in entries[:-1]]
    ledger_files = sorted(p.name for p in lab.archive.ledger_root.glob("*.json"))
    assert ledger_files == ["000001.json", "000002.json", "000003.json"]
    assert lab.archive.report_ids() == list(IDS)


def test_renderings_written_after_signing_are_not_evidence_and_not_flagged(lab: Lab) -> None:
    directory = lab.archive.report_dir(IDS[0])
    (directory / "report.html").write_text("<html>rendered later</html>")
    (directory / "report.pdf").write_bytes(b"%PDF-1.7")
    assert lab.archive.verify(IDS[0], lab.public_key) == []
    (directory / "notes.txt").write_text("slipped in")
    assert [p.what for p in lab.archive.verify(IDS[0], lab.public_key)] == [
        "notes.txt is in its directory but not listed in ledger entry 1"
    ]


def test_written_files_are_the_signed_canonical_report(lab: Lab) -> None:
    report = lab.archive.load_report("r2")
    raw = (lab.dir("r2") / "report.json").read_bytes()
    assert raw == canonical_json(report)
    sig_line = (lab.dir("r2") / "report.sig").read_text()
    assert sig_line.endswith("\n") and sig_line.count("\n") == 1
    assert signing.verify_signature(lab.public_key, raw, sig_line)
    assert {a.name for a in report.artifacts} == {"journal.json", "history.jsonl", "samples.jsonl"}
    assert (lab.dir("r2") / "journal.json").read_bytes() == _artifacts("r2")["journal.json"]
    entry = lab.archive.entries()[1]
    assert entry.key_id == signing.key_id(lab.public_key)
    assert entry.signature == sig_line.strip()
    assert entry.artifacts == {a.name: a.sha256 for a in report.artifacts}


# -- alterations -----------------------------------------------------------------------------------


def test_one_flipped_byte_in_a_report_names_that_report(lab: Lab) -> None:
    path = lab.dir("r2") / "report.json"
    raw = bytearray(path.read_bytes())
    i = raw.index(b'"ratio":0.97') + len(b'"ratio":0.')
    raw[i] ^= 0x01  # 0.97 -> 0.87: still a valid report, just a different one
    path.write_bytes(bytes(raw))

    problems = lab.archive.verify(None, lab.public_key)
    assert _where(problems) == {"report r2"}
    whats = [p.what for p in problems]
    assert any(w.startswith("report.json was altered (sha256 ") for w in whats)
    assert any("signature in report.sig does not verify" in w for w in whats)
    assert lab.archive.verify("r1", lab.public_key) == []
    assert _where(lab.archive.verify("r2", lab.public_key)) == {"report r2"}


def test_flipped_byte_that_breaks_the_json_is_reported_not_raised(lab: Lab) -> None:
    path = lab.dir("r3") / "report.json"
    raw = bytearray(path.read_bytes())
    raw[0] ^= 0x01  # "{" -> "z"
    path.write_bytes(bytes(raw))

    problems = lab.archive.verify(None, lab.public_key)
    assert _where(problems) == {"report r3"}
    assert any("is not a valid drill report" in p.what for p in problems)


def test_altered_artifact_is_named(lab: Lab) -> None:
    (lab.dir("r1") / "journal.json").write_bytes(b'{"status": "succeeded"}')

    problems = lab.archive.verify(None, lab.public_key)
    assert len(problems) == 1
    assert problems[0].where == "report r1"
    assert problems[0].what.startswith("journal.json was altered (sha256 ")
    assert str(problems[0]).startswith("report r1: journal.json was altered")


def test_missing_and_unlisted_artifacts_are_named(lab: Lab) -> None:
    (lab.dir("r3") / "history.jsonl").unlink()
    (lab.dir("r3") / "extra.txt").write_text("added later")

    whats = {p.what for p in lab.archive.verify("r3", lab.public_key)}
    assert whats == {
        "history.jsonl is missing",
        "extra.txt is in its directory but not listed in ledger entry 3",
    }


def test_signature_from_another_key_is_caught(lab: Lab, tmp_path: Path) -> None:
    other = signing.load_or_create_key(tmp_path / "other" / "k.pem")
    raw = (lab.dir("r2") / "report.json").read_bytes()
    (lab.dir("r2") / "report.sig").write_text(signing.sign(other, raw) + "\n")

    whats = {p.what for p in lab.archive.verify(None, lab.public_key)}
    assert "report.sig differs from the signature in ledger entry 2" in whats
    assert any(w.startswith("the signature in report.sig does not verify") for w in whats)


def test_forged_report_resigned_with_another_key_is_caught(lab: Lab, tmp_path: Path) -> None:
    # The attacker rewrites the report, signs it with their own key and patches the ledger entry to match.
    forger = signing.load_or_create_key(tmp_path / "forger" / "k.pem")
    forged = make_report(id="r2", verdict="fail", artifacts=artifact_list(_artifacts("r2")))
    raw = canonical_json(forged)
    sig = signing.sign(forger, raw)
    (lab.dir("r2") / "report.json").write_bytes(raw)
    (lab.dir("r2") / "report.sig").write_text(sig + "\n")
    lab.rewrite_entry(
        2,
        rehash=True,
        report_sha256=sha256_hex(raw),
        signature=sig,
        key_id=signing.key_id(forger.public_key()),
    )

    problems = lab.archive.verify(None, lab.public_key)
    broken_link = "its prev_hash does not match entry 2's entry_hash (entry 2 was changed or replaced)"
    assert Problem(where="ledger entry 3", what=broken_link) in problems
    r2 = [p.what for p in problems if p.where == "report r2"]
    assert any(w.startswith("ledger entry 2 names signing key ") for w in r2)
    assert any(w.startswith("the signature in report.sig does not verify") for w in r2)


def test_garbage_signature_does_not_raise(lab: Lab) -> None:
    raw = (lab.dir("r1") / "report.json").read_bytes()
    assert not signing.verify_signature(lab.public_key, raw, "not base64 !!!")
    assert not signing.verify_signature(lab.public_key, raw, "")
    assert not signing.verify_signature(lab.public_key, raw, "AAAA")
    assert not signing.verify_signature(lab.public_key, raw, "é")
    (lab.dir("r1") / "report.sig").write_bytes(b"\xff\xfe garbage")
    assert _where(lab.archive.verify(None, lab.public_key)) == {"report r1"}


def test_deleting_the_middle_ledger_entry_breaks_the_chain(lab: Lab) -> None:
    lab.entry_file(2).unlink()

    problems = lab.archive.verify(None, lab.public_key)
    assert Problem(where="ledger entry 2", what="missing (the chain jumps from 1 to 3)") in problems
    assert Problem(where="report r2", what="is not in the ledger (its directory has no ledger entry)") in problems
    assert str(problems[0]) == "ledger entry 2: missing (the chain jumps from 1 to 3)"


def test_editing_an_entry_field_breaks_its_hash(lab: Lab) -> None:
    lab.rewrite_entry(2, signed_at="2024-05-02T10:00:00+00:00")

    problems = lab.archive.verify(None, lab.public_key)
    assert problems == [
        Problem(where="ledger entry 2", what="its entry_hash does not match its contents (it was edited)")
    ]


def test_editing_an_entry_and_its_hash_breaks_the_next_link(lab: Lab) -> None:
    lab.rewrite_entry(1, rehash=True, signed_at="2024-05-02T10:00:00+00:00")

    problems = lab.archive.verify(None, lab.public_key)
    assert problems == [
        Problem(
            where="ledger entry 2",
            what="its prev_hash does not match entry 1's entry_hash (entry 1 was changed or replaced)",
        )
    ]


def test_report_directory_without_entry_is_found(lab: Lab) -> None:
    shutil.copytree(lab.dir("r1"), lab.archive.reports_root / "r9")

    problems = lab.archive.verify(None, lab.public_key)
    assert problems == [Problem(where="report r9", what="is not in the ledger (its directory has no ledger entry)")]
    assert lab.archive.verify("r9", lab.public_key) == problems


def test_entry_without_report_directory_is_found(lab: Lab) -> None:
    shutil.rmtree(lab.dir("r3"))

    assert lab.archive.verify(None, lab.public_key) == [
        Problem(where="report r3", what="its directory is missing (ledger entry 3 records it)")
    ]


def test_unreadable_ledger_file_is_a_problem_not_a_crash(lab: Lab, tmp_path: Path) -> None:
    lab.entry_file(3).write_text("{not json")

    entries, problems = lab.archive.read_entries()
    assert [e.seq for e in entries] == [1, 2]
    assert len(problems) == 1 and problems[0].where == "ledger file 000003.json"
    assert "not a valid ledger entry" in problems[0].what
    assert "ledger file 000003.json" in _where(lab.archive.verify(None, lab.public_key))
    with pytest.raises(ArchiveError, match=r"000003\.json"):
        lab.archive.entries()
    with pytest.raises(ArchiveError, match="cannot be extended"):
        _add(lab.archive, lab.key, "r4")


# -- appending ---------------------------------------------------------------------------------------


def test_append_refuses_an_existing_report(lab: Lab) -> None:
    with pytest.raises(ArchiveError, match="already exists"):
        _add(lab.archive, lab.key, "r2")
    assert len(lab.archive.entries()) == 3


def test_append_refuses_an_artifact_list_that_does_not_match(lab: Lab) -> None:
    artifacts = _artifacts("r4")
    report = make_report(id="r4", artifacts=artifact_list({**artifacts, "journal.json": b"other"}))
    with pytest.raises(ArchiveError, match="artifact_list"):
        lab.archive.append(report, artifacts, lab.key)
    assert not lab.dir("r4").exists()
    assert len(lab.archive.entries()) == 3


def test_append_refuses_unsafe_names(lab: Lab) -> None:
    with pytest.raises(ArchiveError):
        lab.archive.append(make_report(id="../r4"), {}, lab.key)
    with pytest.raises(ArchiveError):
        lab.archive.append(make_report(id="r4"), {"report.sig": b"x"}, lab.key)


def test_artifact_list_names_digests_and_media_types() -> None:
    listed = artifact_list({"samples.jsonl": b"{}\n", "journal.json": b"{}", "x.bin": b""}, {"x.bin": "image/webp"})
    assert [(a.name, a.media_type) for a in listed] == [
        ("journal.json", "application/json"),
        ("samples.jsonl", "application/x-ndjson"),
        ("x.bin", "image/webp"),
    ]
    assert listed[0].sha256 == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


# -- keys ------------------------------------------------------------------------------------------


def test_key_is_created_on_first_use_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "drill-signing.pem"
    first = signing.load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    pub_path = tmp_path / "keys" / "drill-signing.pub.pem"
    assert pub_path.exists()

    second = signing.load_or_create_key(path)
    assert signing.key_id(second.public_key()) == signing.key_id(first.public_key())
    assert signing.key_id(signing.load_public_key(pub_path)) == signing.key_id(first.public_key())
    assert len(signing.key_id(first.public_key())) == 16
    assert sorted(p.name for p in path.parent.iterdir()) == ["drill-signing.pem", "drill-signing.pub.pem"]


def test_public_key_of_another_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    signing.load_or_create_key(path)
    signing.load_or_create_key(tmp_path / "other.pem")
    (tmp_path / "k.pub.pem").write_bytes((tmp_path / "other.pub.pem").read_bytes())
    with pytest.raises(signing.SigningKeyError, match="not the public half"):
        signing.load_or_create_key(path)


def test_sign_and_verify_round_trip(tmp_path: Path) -> None:
    key = signing.load_or_create_key(tmp_path / "k.pem")
    sig = signing.sign(key, b"data")
    assert signing.verify_signature(key.public_key(), b"data", sig)
    assert signing.verify_signature(key.public_key(), b"data", sig + "\n")
    assert not signing.verify_signature(key.public_key(), b"date", sig)


# -- the pure part ---------------------------------------------------------------------------------


def _chain(n: int) -> list[LedgerEntry]:
    entries: list[LedgerEntry] = []
    for i in range(1, n + 1):
        prev = entries[-1] if entries else None
        entries.append(make_entry(prev, f"r{i}", f"report {i}".encode(), {"a.json": b"{}"}, "sig", "k" * 16, "t"))
    return entries


def test_verify_chain_names_gaps_order_and_duplicates() -> None:
    e = _chain(6)
    assert verify_chain(e) == []
    assert verify_chain([e[0], e[1], e[4], e[5]]) == [
        Problem(where="ledger entries 3-4", what="missing (the chain jumps from 2 to 5)")
    ]
    assert verify_chain(e[2:]) == [Problem(where="ledger entries 1-2", what="missing (the chain starts at 3)")]
    assert verify_chain([e[0], e[2], e[1], e[3]]) == [
        Problem(where="ledger entry 2", what="out of order: it comes after entry 3")
    ]
    assert verify_chain([e[0], e[3], e[1], e[5]]) == [
        Problem(where="ledger entry 3", what="missing (the chain jumps from 1 to 4)"),
        Problem(where="ledger entry 2", what="out of order: it comes after entry 4"),
        Problem(where="ledger entry 5", what="missing (the chain jumps from 4 to 6)"),
    ]
    dup = make_entry(e[1], "r1", b"again", {}, "sig", "k" * 16, "t")
    assert verify_chain([e[0], e[1], dup]) == [Problem(where="ledger entry 3", what="report r1 is already in entry 1")]


def test_entry_hash_covers_every_field() -> None:
    entry = _chain(1)[0]
    assert entry.entry_hash == entry.computed_hash()
    for field, value in {
        "seq": 2,
        "report_id": "r9",
        "report_sha256": "1" * 64,
        "artifacts": {},
        "signed_at": "u",
        "key_id": "x",
        "signature": "s",
        "prev_hash": "2" * 64,
    }.items():
        assert entry.model_copy(update={field: value}).computed_hash() != entry.entry_hash, field


def test_verify_report_checks_the_reports_own_artifact_list(lab: Lab) -> None:
    report_bytes = (lab.dir("r1") / "report.json").read_bytes()
    sig = (lab.dir("r1") / "report.sig").read_text()
    artifacts = _artifacts("r1")
    del artifacts["samples.jsonl"]  # the entry below lists one artifact fewer than the report does
    entry = make_entry(None, "r1", report_bytes, artifacts, sig.strip(), signing.key_id(lab.public_key), "t")

    problems = verify_report(entry, report_bytes, sig, artifacts, lab.public_key)
    assert problems == [
        Problem(where="report r1", what="report.json lists the artifact samples.jsonl, which ledger entry 1 does not")
    ]


def test_compare_with_mirror_finds_differing_and_missing_entries(lab: Lab) -> None:
    files = lab.archive.entries()
    changed = files[1].model_copy(update={"signed_at": "2024-05-02T10:00:00+00:00"})

    problems = compare_with_mirror(files, [files[0], changed])
    assert problems == [
        Problem(where="ledger entry 2", what="differs between the ledger files and the mirror (signed_at)"),
        Problem(where="ledger entry 3", what="is in the ledger files but not in the mirror"),
    ]
    assert compare_with_mirror(files[:2], files) == [
        Problem(where="ledger entry 3", what="is in the mirror but not in the ledger files")
    ]
    assert compare_with_mirror(files, files) == []


class _MemoryMirror:
    def __init__(self) -> None:
        self._entries: list[LedgerEntry] = []

    def append(self, entry: LedgerEntry) -> None:
        self._entries.append(entry)

    def entries(self) -> list[LedgerEntry]:
        return list(self._entries)


def test_a_mirror_satisfies_the_protocol(lab: Lab) -> None:
    mirror = _MemoryMirror()
    assert isinstance(mirror, LedgerMirror)
    for entry in lab.archive.entries():
        mirror.append(entry)
    assert compare_with_mirror(lab.archive.entries(), mirror.entries()) == []


def test_a_key_still_kept_in_the_archive_moves_out_once_and_keeps_verifying(lab: Lab, tmp_path: Path) -> None:
    from drills.runner import _signing_key

    outside = tmp_path / "keys" / "drill-signing.pem"
    assert _signing_key(outside, lab.archive) == outside
    assert outside.exists() and not lab.archive.key_path.exists()
    moved = signing.load_public_key(signing.public_key_path(outside))
    assert lab.archive.verify(None, moved) == []  # the reports it signed before still verify
    assert _signing_key(outside, lab.archive) == outside  # and nothing happens the second time
