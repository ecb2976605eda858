"""The auditor's page: every drill report in the ledger, with whether its signature, its digests and
the ledger's hash chain verify, and the report itself to open (HTML) or download (signed JSON, PDF).
Read-only: nothing here writes to the archive."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.agents.domain.model import Role
from core.console.panels import Artifact
from drills import signing
from drills.archive import REPORT_FILE, SIGNATURE_FILE, Archive, ArchiveError
from drills.ledger import Problem

HERE = Path(__file__).parent
CACHE_S = 15.0  # verification reads every artifact; an auditor's refresh need not redo it each time
LISTED = 50  # newest reports shown
FILES = {  # what may be handed out, and as what
    "report.html": "text/html; charset=utf-8",
    REPORT_FILE: "application/json",
    "report.pdf": "application/pdf",
    SIGNATURE_FILE: "text/plain; charset=utf-8",
}


@dataclass(frozen=True)
class ReportRow:
    seq: int
    report_id: str
    scenario: str
    title: str
    verdict: str | None  # None: the report itself cannot be read
    signed_at: str
    key_id: str
    problems: list[str]
    files: list[str]

    @property
    def verified(self) -> bool:
        return not self.problems


@dataclass
class AuditView:
    reports: list[ReportRow] = field(default_factory=list)
    ledger_problems: list[str] = field(default_factory=list)  # the chain, files that are not entries
    key_source: str = ""
    error: str | None = None  # the archive or its key cannot be read at all
    checked_at: float = 0.0

    @property
    def all_verified(self) -> bool:
        return self.error is None and not self.ledger_problems and all(r.verified for r in self.reports)


def build_view(archive: Archive, public_key_path: Path) -> AuditView:
    view = AuditView(key_source=str(public_key_path), checked_at=time.time())
    try:
        key = signing.load_public_key(public_key_path)
        problems = archive.verify(None, key)
        entries, _ = archive.read_entries()
    except (signing.SigningKeyError, ArchiveError, OSError) as exc:
        view.error = str(exc)
        return view
    by_report = _by_report(problems)
    view.ledger_problems = [str(p) for p in problems if _report_of(p) is None]
    for entry in reversed(entries[-LISTED:]):
        directory = archive.report_dir(entry.report_id)
        try:
            report = archive.load_report(entry.report_id)
            scenario, title, verdict = report.scenario.name, report.scenario.title, report.verdict
        except (ArchiveError, ValueError):
            scenario, title, verdict = "?", "?", None
        view.reports.append(
            ReportRow(
                seq=entry.seq,
                report_id=entry.report_id,
                scenario=scenario,
                title=title,
                verdict=verdict,
                signed_at=entry.signed_at,
                key_id=entry.key_id,
                problems=by_report.get(entry.report_id, []),
                files=[name for name in FILES if (directory / name).is_file()],
            )
        )
    return view


def _report_of(problem: Problem) -> str | None:
    return problem.where.removeprefix("report ") if problem.where.startswith("report ") else None


def _by_report(problems: list[Problem]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in problems:
        rid = _report_of(p)
        if rid is not None:
            out.setdefault(rid, []).append(p.what)
    return out


LABELS: dict[str, dict[str, str]] = {
    "audit": {"vi": "Báo cáo diễn tập", "en": "Drill reports"},
    "audit_intro": {
        "vi": "Mỗi báo cáo được ký (Ed25519) và ghi vào sổ cái có chuỗi băm. "
        "Trang này kiểm tra lại cả hai mỗi lần xem.",
        "en": "Every report is signed (Ed25519) and recorded in a hash-chained ledger. "
        "This page checks both again on every view.",
    },
    "audit_key": {"vi": "Khóa công khai dùng để kiểm tra: {path}", "en": "Public key used to verify: {path}"},
    "audit_all_ok": {
        "vi": "Tất cả chữ ký và chuỗi sổ cái đều hợp lệ.",
        "en": "Every signature and the ledger chain verify.",
    },
    "audit_not_ok": {"vi": "Có phần không khớp: xem bên dưới.", "en": "Something does not verify: see below."},
    "audit_seq": {"vi": "Số", "en": "No."},
    "audit_report": {"vi": "Báo cáo", "en": "Report"},
    "audit_verdict": {"vi": "Kết luận", "en": "Verdict"},
    "audit_signed": {"vi": "Ký lúc", "en": "Signed at"},
    "audit_check": {"vi": "Kiểm tra", "en": "Check"},
    "audit_files": {"vi": "Tệp", "en": "Files"},
    "audit_verified": {"vi": "hợp lệ", "en": "verifies"},
    "audit_altered": {"vi": "KHÔNG hợp lệ", "en": "does NOT verify"},
    "audit_none": {"vi": "Chưa có báo cáo nào.", "en": "No reports yet."},
    "audit_rendering": {
        "vi": "HTML và PDF là bản trình bày của report.json; chữ ký phủ report.json và các tệp trong sổ cái.",
        "en": "HTML and PDF are renderings of report.json; the signature covers report.json and the ledgered files.",
    },
}


class AuditPanel:
    name = "audit"
    roles = frozenset({Role.AUDITOR, Role.SRE, Role.SUPERVISOR})
    templates = HERE / "templates"

    def __init__(self, archive_dir: Path, public_key_path: Path | None = None) -> None:
        self.archive = Archive(archive_dir)
        self.public_key_path = public_key_path or self.archive.public_key_path
        self.labels = LABELS
        self._cached: AuditView | None = None
        self._lock = asyncio.Lock()

    async def view(self) -> dict[str, Any]:
        async with self._lock:
            if self._cached is None or time.time() - self._cached.checked_at > CACHE_S:
                self._cached = await asyncio.to_thread(build_view, self.archive, self.public_key_path)
        return {"audit": self._cached}

    async def artifact(self, item: str, file: str) -> Artifact | None:
        if file not in FILES:
            return None
        try:
            path = self.archive.report_dir(item) / file  # refuses ids that are not plain names
        except ArchiveError:
            return None
        return Artifact(path, FILES[file]) if path.is_file() else None


__all__ = ["AuditPanel", "AuditView", "ReportRow", "build_view"]
