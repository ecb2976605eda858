"""Publish: the signed report of a judged drill — the report document, its artifacts, the entry in
the archive's hash-chained ledger (and its PostgreSQL copy), the HTML page and, on request, a PDF."""

from __future__ import annotations

import json
from typing import Any

from drills import checker, compare, ledger
from drills.archive import Archive, ArchiveError, artifact_list
from drills.canary import CHANNEL
from drills.environment import collect_environment
from drills.judge import Judgement
from drills.measure import Measurement
from drills.model import CanaryOp, Sample
from drills.options import DrillOptions, DrillResult
from drills.render import render_html
from drills.report import CanarySettings as ReportedCanary
from drills.report import DrillReport, Objectives, Scenario, Series, SignOff
from drills.scenarios import ScenarioSpec
from infra.topology import Topology


def publish(
    topo: Topology,
    spec: ScenarioSpec,
    drill_id: str,
    options: DrillOptions,
    objectives: Objectives,
    m: Measurement,
    j: Judgement,
    key: Any,
) -> DrillResult:
    d = topo.drills
    artifacts = {
        "journal.json": json.dumps(m.journal, indent=2, default=str).encode(),
        "history.jsonl": _jsonl(m.ops),
        "samples.jsonl": _jsonl(m.samples),
        "observed.json": m.observed.model_dump_json(indent=2).encode(),
    } | m.load_artifacts
    archive = Archive(d.archive_dir)
    comparison = _against_previous(archive, spec.name, j)
    report = DrillReport(
        id=drill_id,
        scenario=Scenario(name=spec.name, title=spec.title, fault=spec.fault, affected_sites=spec.affected_sites),
        trigger=options.trigger,
        status=j.status,
        deviated=bool(m.journal.get("deviated")),
        abort_reason=j.abort_reason,
        verdict=j.verdict,
        objectives=objectives,
        checks=j.checks,
        findings=j.findings,
        notes=j.notes + (compare.notes(comparison) if comparison else ()),
        comparison=comparison,
        timeline=m.timeline,
        roles_before=m.roles_before,
        roles_after=m.roles_after,
        environment=collect_environment(topo),
        canary=ReportedCanary(
            rate_per_s=d.canary_rate_per_s,
            deadline_s=d.canary_deadline_s,
            attempt_timeout_s=d.canary_attempt_timeout_s,
            channel=CHANNEL,
            consecutive_successes=d.consecutive_successes,
        ),
        load=m.load_stats,
        series=_series(m.ops, checker.judged_samples(m.samples, m.timeline, spec.affected_sites), m.timeline.started),
        artifacts=artifact_list(artifacts),
        sign_off=SignOff(operator=options.operator),
    )
    entry = archive.append(report, artifacts, key)
    result = DrillResult(report, entry, archive.report_dir(report.id), archive.report_dir(report.id) / "report.html")
    mirror(topo, entry, result)
    html = render_html(report, signature=entry.signature, key_id=entry.key_id, ledger_seq=entry.seq)
    result.html.write_text(html)
    if options.pdf:
        from drills.render import render_pdf

        result.pdf = result.directory / "report.pdf"
        result.pdf.write_bytes(render_pdf(html))
    return result


def _series(ops: list[CanaryOp], samples: list[Sample], started: float) -> Series:
    probes: dict[str, list[tuple[float, bool]]] = {}
    for s in samples:
        probes.setdefault(s.capability, []).append((round(s.at - started, 3), s.ok))
    canary = tuple(
        (round(o.invoked - started, 3), None if o.latency_s is None else round(o.latency_s, 4), o.outcome) for o in ops
    )
    return Series(canary=canary, probes={k: tuple(v) for k, v in sorted(probes.items())})


def _against_previous(archive: Archive, scenario: str, j: Judgement) -> compare.Comparison | None:
    """The newest earlier report of the same scenario in the ledger, if any can be read."""
    entries, _ = archive.read_entries()
    for entry in reversed(entries):
        try:
            previous = archive.load_report(entry.report_id)
        except (ArchiveError, ValueError):
            continue  # `ccdr drill verify` names it; a comparison just skips it
        if previous.scenario.name == scenario:
            return compare.compare(previous.id, previous.verdict, previous.findings, j.findings)
    return None


def _jsonl(items: list[Any]) -> bytes:
    return b"".join(item.model_dump_json().encode() + b"\n" for item in items)


def mirror(topo: Topology, entry: ledger.LedgerEntry, result: DrillResult) -> None:
    from drills.ledger_store import PostgresLedger

    try:
        PostgresLedger.for_lab(topo).append(entry)
    except Exception as exc:  # noqa: BLE001 - the files are the record; the copy is retried by `verify --repair`
        result.mirrored = False
        result.warnings.append(f"ledger entry {entry.seq} not copied to PostgreSQL: {exc}")
