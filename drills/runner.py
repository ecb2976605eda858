"""One drill, end to end: instruments on, the Chaos Toolkit experiment, recovery, the checker,
the signed report in the archive and its ledger entry.

The drill runs from the operator's host (the root namespace in the lab) and touches the system
only from outside: HTTP through the front door, SQL reads, Kafka reads, ZooKeeper reads and the
lab's fault actions.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from chaoslib.experiment import run_experiment

from drills import checker, ledger, roles, signing
from drills.archive import Archive, artifact_list
from drills.canary import CHANNEL, Canary, CanarySettings
from drills.chaos.probes import converged
from drills.environment import collect_environment
from drills.model import CanaryOp, Sample, Timeline
from drills.observe import end_offsets, observe
from drills.render import render_html
from drills.report import (
    CanarySettings as ReportedCanary,
)
from drills.report import (
    DrillReport,
    LoadStats,
    Objectives,
    Scenario,
    Series,
    SignOff,
)
from drills.samplers import (
    AGENT_LOGIN,
    DATABASE_PRIMARY,
    SLA_CLOCK_LEADER,
    Sampler,
    agent_login_probe,
    database_primary_probe,
    leader_probe,
    observer_session,
)
from drills.scenarios import PRIMARY_SITE_ALIAS, ScenarioSpec, scenario
from failover.coordination import Coordination
from infra.lab import secrets as lab_secrets
from infra.lab.database import app_dsn
from infra.lab.layout import LabLayout
from infra.lab.render import Secrets
from infra.lab.status import collect
from infra.topology import Topology

log = logging.getLogger(__name__)

LOCK_FILE = ".drill.lock"
PROBE_TIMEOUT_S = 5.0
CHAOS_SETTINGS = {"runtime": {"rollbacks": {"strategy": "always"}}}  # roll back even after an abort


class DrillError(Exception):
    """A drill could not start or could not be recorded (one line for the CLI)."""


@dataclass(frozen=True)
class DrillOptions:
    scenario: str
    duration_s: float = 60.0
    load_rps: float = 0.0
    operator: str = "unknown"
    trigger: Literal["manual", "scheduled", "ci", "benchmark"] = "manual"
    objectives: Objectives | None = None  # None: the topology's defaults
    abort_rto_s: float | None = None
    pdf: bool = False


@dataclass
class DrillResult:
    report: DrillReport
    entry: ledger.LedgerEntry
    directory: Path
    html: Path
    pdf: Path | None = None
    mirrored: bool = True
    warnings: list[str] = field(default_factory=list)


Progress = Callable[[str], None]


def resolve_scenario(topo: Topology, name: str) -> ScenarioSpec:
    """`site-loss-primary` means the site that holds the PostgreSQL primary right now."""
    if name == PRIMARY_SITE_ALIAS:
        primary = collect(LabLayout(topo), quorum=False).patroni_primary
        if primary is None:
            raise DrillError("no PostgreSQL primary: cannot pick the primary's site (ccdr lab status)")
        name = f"site-loss-{primary}"
    return scenario(name)


def default_objectives(topo: Topology) -> Objectives:
    d = topo.drills
    return Objectives(
        rpo_max_lost=d.rpo_max_lost,
        rto_s=dict(d.rto_s),
        availability_min=d.availability_min,
        ticket_slo_s=topo.tickets.slo_s,
        ticket_slo_share=topo.tickets.slo_share,
    )


@contextmanager
def exclusive(archive_dir: Path) -> Iterator[None]:
    """Never two drills at once on this lab (a second one would measure the first one's fault)."""
    archive_dir.mkdir(parents=True, exist_ok=True)
    with open(archive_dir / LOCK_FILE, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DrillError(f"another drill is running (lock {archive_dir / LOCK_FILE})") from None
        yield


def _await_converged(topo: Topology, progress: Progress) -> None:
    """A drill starts from a whole lab (a fresh `lab up` may still be catching up): wait for it, then refuse."""
    deadline = time.monotonic() + topo.drills.converge_timeout_s
    ok, detail = converged(topo)
    if not ok:
        progress(f"waiting for the lab to converge first: {detail}")
    while not ok:
        if time.monotonic() > deadline:
            raise DrillError(f"the lab has not converged ({detail}); a drill would measure the wrong thing")
        time.sleep(2)
        ok, detail = converged(topo)


class Instruments:
    """The canary (asyncio, its own thread) and the samplers (a thread each)."""

    def __init__(self, topo: Topology, drill_id: str, secrets: Secrets, coord: Coordination) -> None:
        d = topo.drills
        fd = topo.front_door
        self.canary = Canary(
            CanarySettings(
                base_url=f"http://{fd.address}:{fd.intake_http}",
                drill_id=drill_id,
                rate_per_s=d.canary_rate_per_s,
                deadline_s=d.canary_deadline_s,
                attempt_timeout_s=d.canary_attempt_timeout_s,
                retry_s=d.canary_retry_s,
            )
        )
        dsn = app_dsn(topo, secrets.app)
        self.samplers = [
            Sampler(AGENT_LOGIN, agent_login_probe(topo, secrets.agent_password, PROBE_TIMEOUT_S), d.probe_interval_s),
            Sampler(DATABASE_PRIMARY, database_primary_probe(dsn, PROBE_TIMEOUT_S), d.probe_interval_s),
            Sampler(SLA_CLOCK_LEADER, leader_probe(coord), d.probe_interval_s),
        ]
        self._ops: list[CanaryOp] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run_canary, name="canary", daemon=True)
        self._started = threading.Event()

    def _run_canary(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._started.set()
        self._ops = loop.run_until_complete(self.canary.run())
        loop.close()

    def start(self) -> None:
        self._thread.start()
        self._started.wait()
        for s in self.samplers:
            s.start()

    def live(self) -> tuple[int, int]:
        """(operations sent, acknowledged) so far, for progress lines."""
        return self.canary.counts()

    def stop(self) -> tuple[list[CanaryOp], list[Sample]]:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self.canary.stop)
        samples = [s for sampler in self.samplers for s in sampler.stop()]
        self._thread.join()
        return self._ops, samples


def _journal_time(value: str | None) -> float | None:
    if not value:
        return None
    at = datetime.fromisoformat(value)
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def timeline_from_journal(journal: dict[str, Any], started: float, ended: float) -> Timeline:
    """Fault = the first method activity's start; restore = the first rollback's start; converged =
    the last rollback's end, when every rollback succeeded."""
    runs = journal.get("run") or []
    rollbacks = journal.get("rollbacks") or []
    fault_at = _journal_time(runs[0].get("start")) if runs else None
    restore_at = _journal_time(rollbacks[0].get("start")) if rollbacks else None
    converged_at = None
    if rollbacks and all(r.get("status") == "succeeded" for r in rollbacks):
        converged_at = _journal_time(rollbacks[-1].get("end"))
    return Timeline(
        started=started,
        fault_at=fault_at if fault_at is not None else ended,
        restore_at=restore_at,
        converged_at=converged_at,
        ended=ended,
    )


def _series(ops: list[CanaryOp], samples: list[Sample], started: float) -> Series:
    probes: dict[str, list[tuple[float, bool]]] = {}
    for s in samples:
        probes.setdefault(s.capability, []).append((round(s.at - started, 3), s.ok))
    canary = tuple(
        (round(o.invoked - started, 3), None if o.latency_s is None else round(o.latency_s, 4), o.outcome) for o in ops
    )
    return Series(canary=canary, probes={k: tuple(v) for k, v in sorted(probes.items())})


def _jsonl(items: list[Any]) -> bytes:
    return b"".join(item.model_dump_json().encode() + b"\n" for item in items)


def run_drill(topo: Topology, options: DrillOptions, progress: Progress, load: LoadHook | None = None) -> DrillResult:
    spec = resolve_scenario(topo, options.scenario)
    d = topo.drills
    objectives = options.objectives or default_objectives(topo)
    with exclusive(d.archive_dir):
        _await_converged(topo, progress)
        drill_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{spec.name}"
        key = signing.load_or_create_key(Archive(d.archive_dir).key_path)
        progress(f"drill {drill_id}: {spec.title}")
        secrets = lab_secrets.load(LabLayout(topo))
        coord = observer_session(topo)  # one outside session: roles before/after and the leader probe
        try:
            roles_before = roles.snapshot(topo, coord)
            since = asyncio.run(end_offsets(topo))
            instruments = Instruments(topo, drill_id, secrets, coord)
            started = time.time()
            instruments.start()
            try:
                progress(f"canary at {d.canary_rate_per_s:g}/s and probes every {d.probe_interval_s:g} s")
                if load is not None:
                    load.start(options.load_rps)
                time.sleep(d.settle_s)  # a baseline before the fault
                journal = _run_experiment(spec, drill_id, options, topo, progress, instruments)
                progress(f"experiment {journal.get('status')}; canary runs {d.settle_s:g} s more")
                time.sleep(d.settle_s)
            finally:  # whatever happened, no canary or locust is left running behind the caller's back
                load_stats = load.stop() if load is not None else None
                ops, samples = instruments.stop()
            ended = time.time()
            roles_after = roles.snapshot(topo, coord)
        finally:
            coord.stop()
        timeline = timeline_from_journal(journal, started, ended)
        acked = [o.key for o in ops if o.acked is not None]
        progress(f"checking {len(ops)} canary intakes ({len(acked)} acknowledged) against PostgreSQL and Kafka")
        dsn = app_dsn(topo, secrets.app)
        observed = observe(topo, dsn, drill_id, since, acked, d.check_timeout_s)
        findings = checker.check(
            ops,
            samples,
            observed,
            timeline,
            k=d.consecutive_successes,
            freshness_s=d.ticket_freshness_s,
            affected_sites=spec.affected_sites,
            first_attempt_s=d.first_attempt_s,
            ticket_slo_s=objectives.ticket_slo_s,
        )
        checks = checker.judge(findings, objectives)
        status = journal.get("status", "failed") if _steady_before(journal) else "failed"
        verdict = checker.verdict(checks)
        if status != "completed" or journal.get("deviated") or timeline.converged_at is None:
            verdict = "fail"  # the experiment, the steady state or the way back failed
        artifacts = {
            "journal.json": json.dumps(journal, indent=2, default=str).encode(),
            "history.jsonl": _jsonl(ops),
            "samples.jsonl": _jsonl(samples),
            "observed.json": observed.model_dump_json(indent=2).encode(),
        }
        if load is not None:
            artifacts |= load.artifacts()
        report = DrillReport(
            id=drill_id,
            scenario=Scenario(name=spec.name, title=spec.title, fault=spec.fault, affected_sites=spec.affected_sites),
            trigger=options.trigger,
            status=status if status in ("completed", "aborted", "interrupted", "failed") else "failed",
            deviated=bool(journal.get("deviated")),
            abort_reason=_abort_reason(journal),
            verdict=verdict,
            objectives=objectives,
            checks=checks,
            findings=findings,
            notes=checker.notes(findings) + _status_notes(journal),
            timeline=timeline,
            roles_before=roles_before,
            roles_after=roles_after,
            environment=collect_environment(topo),
            canary=ReportedCanary(
                rate_per_s=d.canary_rate_per_s,
                deadline_s=d.canary_deadline_s,
                attempt_timeout_s=d.canary_attempt_timeout_s,
                channel=CHANNEL,
                consecutive_successes=d.consecutive_successes,
            ),
            load=load_stats,
            series=_series(ops, checker.judged_samples(samples, timeline, spec.affected_sites), started),
            artifacts=artifact_list(artifacts),
            sign_off=SignOff(operator=options.operator),
        )
        archive = Archive(d.archive_dir)
        entry = archive.append(report, artifacts, key)
        result = DrillResult(
            report, entry, archive.report_dir(report.id), archive.report_dir(report.id) / "report.html"
        )
        _mirror(topo, entry, result)
        html = render_html(report, signature=entry.signature, key_id=entry.key_id, ledger_seq=entry.seq)
        result.html.write_text(html)
        if options.pdf:
            from drills.render import render_pdf

            result.pdf = result.directory / "report.pdf"
            result.pdf.write_bytes(render_pdf(html))
        return result


class LoadHook(Protocol):
    """Optional load alongside the canary (locust: loadtests/drill_load.py)."""

    def start(self, rate_per_s: float) -> None: ...

    def stop(self) -> LoadStats | None: ...

    def artifacts(self) -> dict[str, bytes]: ...


def _run_experiment(
    spec: ScenarioSpec,
    drill_id: str,
    options: DrillOptions,
    topo: Topology,
    progress: Progress,
    instruments: Instruments,
) -> dict[str, Any]:
    experiment = spec.experiment()
    config = {
        "drill_id": drill_id,
        "duration_s": options.duration_s,
        "abort_rto_s": options.abort_rto_s or topo.drills.abort_rto_s,
        "converge_timeout_s": topo.drills.converge_timeout_s,
    }
    stop = threading.Event()

    def report_progress() -> None:
        began = time.monotonic()
        while not stop.wait(10):
            sent, acked = instruments.live()
            progress(f"  +{time.monotonic() - began:.0f} s: canary {acked}/{sent} acknowledged")

    ticker = threading.Thread(target=report_progress, daemon=True)
    ticker.start()
    try:
        return dict(run_experiment(experiment, settings=CHAOS_SETTINGS, experiment_vars=(config, {})))
    finally:
        stop.set()


def _steady_before(journal: dict[str, Any]) -> bool:
    before = (journal.get("steady_states") or {}).get("before") or {}
    return bool(before.get("steady_state_met", True))


def _abort_reason(journal: dict[str, Any]) -> str | None:
    if not _steady_before(journal):
        probes = journal["steady_states"]["before"].get("probes", [])
        failed = ", ".join(p["activity"]["name"] for p in probes if not p.get("tolerance_met", True))
        return f"the steady state did not hold before the fault ({failed}); no fault was injected"
    if journal.get("status") == "completed":
        return None
    for activity in [*(journal.get("run") or []), *(journal.get("rollbacks") or [])]:
        if activity.get("status") == "failed" and activity.get("exception"):
            return "".join(activity["exception"][-1:]).strip()[:500]
    return f"experiment {journal.get('status')}"


def _status_notes(journal: dict[str, Any]) -> tuple[str, ...]:
    notes = []
    if not _steady_before(journal):
        notes.append("The steady state did not hold before the fault: nothing was injected and nothing was measured.")
    if journal.get("deviated"):
        notes.append("The steady state did not hold after the fault (Chaos Toolkit: deviated).")
    rollbacks = journal.get("rollbacks") or []
    if any(r.get("status") != "succeeded" for r in rollbacks):
        failed = ", ".join(r["activity"]["name"] for r in rollbacks if r.get("status") != "succeeded")
        notes.append(f"The way back failed ({failed}): the lab did not converge; see journal.json.")
    if journal.get("status") not in (None, "completed"):
        notes.append(f"The experiment did not complete (status {journal.get('status')}); rollbacks were played.")
    return tuple(notes)


def _mirror(topo: Topology, entry: ledger.LedgerEntry, result: DrillResult) -> None:
    from drills.ledger_store import PostgresLedger

    try:
        PostgresLedger.for_lab(topo).append(entry)
    except Exception as exc:  # noqa: BLE001 - the files are the record; the copy is retried by `verify --repair`
        result.mirrored = False
        result.warnings.append(f"ledger entry {entry.seq} not copied to PostgreSQL: {exc}")
