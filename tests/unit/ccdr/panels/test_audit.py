"""The auditor's panel on a real archive of signed reports: what verifies, what was altered, and
which files it hands out."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ccdr.panels.audit import AuditPanel, build_view
from drills import signing
from drills.archive import Archive, artifact_list
from tests.unit.drills.factories import make_report


def _archive(tmp_path: Path, ids: tuple[str, ...] = ("r1", "r2")) -> Archive:
    archive = Archive(tmp_path / "drills")
    key = signing.load_or_create_key(archive.key_path)
    for rid in ids:
        artifacts = {"journal.json": json.dumps({"id": rid}).encode()}
        report = make_report(id=rid, artifacts=artifact_list(artifacts))
        archive.append(report, artifacts, key, signed_at="2026-12-01T10:00:00+00:00")
        (archive.report_dir(rid) / "report.html").write_text(f"<html><body>{rid}</body></html>")
    return archive


def test_a_clean_archive_verifies_report_by_report_newest_first(tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    view = build_view(archive, archive.public_key_path)
    assert view.all_verified and view.error is None
    assert [r.report_id for r in view.reports] == ["r2", "r1"]
    assert all(r.verified and r.verdict in ("pass", "fail") for r in view.reports)
    assert view.reports[0].files == ["report.html", "report.json", "report.sig"]


def test_an_altered_report_is_named_and_the_others_still_verify(tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    path = archive.report_dir("r1") / "report.json"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    view = build_view(archive, archive.public_key_path)
    rows = {r.report_id: r for r in view.reports}
    assert not view.all_verified
    assert not rows["r1"].verified and rows["r1"].problems
    assert rows["r2"].verified


def test_a_deleted_ledger_entry_is_a_ledger_problem(tmp_path: Path) -> None:
    archive = _archive(tmp_path, ("r1", "r2", "r3"))
    (archive.ledger_root / "000002.json").unlink()
    view = build_view(archive, archive.public_key_path)
    assert not view.all_verified and view.ledger_problems


def test_a_key_that_cannot_be_read_is_an_error_not_a_crash(tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    view = build_view(archive, tmp_path / "no-such-key.pub")
    assert view.error is not None and not view.all_verified


@pytest.mark.parametrize(
    ("item", "file", "found"),
    [
        ("r1", "report.html", True),
        ("r1", "report.json", True),
        ("r1", "journal.json", False),  # evidence stays in the archive; only the report is handed out
        ("r1", "report.pdf", False),  # not rendered for this report
        ("..", "report.json", False),
        ("r1/../r2", "report.json", False),
        ("nope", "report.json", False),
    ],
)
def test_only_a_reports_own_files_are_handed_out(tmp_path: Path, item: str, file: str, found: bool) -> None:
    archive = _archive(tmp_path)
    artifact = asyncio.run(AuditPanel(archive.root).artifact(item, file))
    assert (artifact is not None) is found
    if artifact is not None:
        assert artifact.path.parent == archive.report_dir(item)
