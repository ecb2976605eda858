"""Measure: one drill's history, taken from outside while the fault is injected and undone — the
canary's operations, the probes' samples, the Chaos Toolkit journal, the roles before and after,
and what PostgreSQL and Kafka hold afterwards for the acknowledged intakes."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chaoslib.experiment import run_experiment

from drills import data_checks, roles
from drills.canary import Canary, CanarySettings
from drills.chaos import relogin_control
from drills.chaos.probes import converged
from drills.model import CanaryOp, Observed, Sample, SignInRecord, Timeline
from drills.observe import action_outputs, damaged_canary_tickets, end_offsets, observe
from drills.options import DrillError, DrillOptions, LoadHook, Progress
from drills.report import LoadStats, Roles
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
from drills.scenarios import ScenarioSpec
from failover.coordination import Coordination
from infra.lab.database import app_dsn
from infra.lab.demo_agents import DEMO_AGENTS
from infra.lab.pki import front_door_tls
from infra.lab.render import Secrets
from infra.topology import Topology

PROBE_TIMEOUT_S = 5.0
HOLD_FUNC = "hold_fault"  # the method's hold, not a fault (drills.chaos.actions)
CHAOS_SETTINGS = {"runtime": {"rollbacks": {"strategy": "always"}}}  # roll back even after an abort


@dataclass
class Measurement:
    """Everything a drill saw; the judge and the report are derived from it alone."""

    journal: dict[str, Any]
    ops: list[CanaryOp]
    samples: list[Sample]
    timeline: Timeline
    observed: Observed
    roles_before: Roles
    roles_after: Roles
    load_stats: LoadStats | None = None
    load_artifacts: dict[str, bytes] = field(default_factory=dict)
    relogin: list[SignInRecord] = field(default_factory=list)  # the re-login surge's sign-ins, if fired
    relogin_error: str | None = None


def measure(
    topo: Topology,
    spec: ScenarioSpec,
    drill_id: str,
    options: DrillOptions,
    secrets: Secrets,
    progress: Progress,
    load: LoadHook | None = None,
) -> Measurement:
    d = topo.drills
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
            journal = run_chaos_experiment(spec, drill_id, options, topo, progress, instruments)
            relogin, relogin_error = relogin_control.collect(drill_id, topo.drills.relogin_deadline_s * 2)
            progress(f"experiment {journal.get('status')}; canary runs {d.settle_s:g} s more")
            time.sleep(d.settle_s)
        finally:  # whatever happened, no canary or locust is left running behind the caller's back
            load_stats = load.stop() if load is not None else None
            ops, samples = instruments.stop()
        ended = time.time()
        roles_after = roles.snapshot(topo, coord)
    finally:
        coord.stop()
    acked = [o.key for o in ops if o.acked is not None]
    progress(f"checking {len(ops)} canary intakes ({len(acked)} acknowledged) against PostgreSQL and Kafka")
    dsn = app_dsn(topo, secrets.app)
    observed = observe(topo, dsn, drill_id, since, acked, d.check_timeout_s)
    if spec.data_check:
        observed = observed.model_copy(update=data_evidence(spec.data_check, journal, dsn, drill_id))
    return Measurement(
        journal=journal,
        ops=ops,
        samples=samples,
        timeline=timeline_from_journal(journal, started, ended),
        observed=observed,
        roles_before=roles_before,
        roles_after=roles_after,
        load_stats=load_stats,
        load_artifacts=load.artifacts() if load is not None else {},
        relogin=relogin,
        relogin_error=relogin_error,
    )


def data_evidence(kind: str, journal: dict[str, Any], dsn: str, drill_id: str) -> dict[str, Any]:
    """A data drill's evidence for drills.data_checks: its actions' reports, and (bad deployment)
    the canary tickets still damaged once the drill is over, read from the cluster."""
    outputs = action_outputs(journal)
    if kind == data_checks.RESTORE:
        return {"data_action": outputs.get(data_checks.RESTORE_ACTION)}
    reports = {"deployed": outputs.get(data_checks.DEPLOY_ACTION), "repaired": outputs.get(data_checks.REPAIR_ACTION)}
    return {"data_action": reports, "damaged": damaged_canary_tickets(dsn, drill_id)}


def relogin_declaration(
    spec: ScenarioSpec, experiment: dict[str, Any], drill_id: str, count: int, topo: Topology
) -> dict[str, Any] | None:
    """The re-login surge's control for this experiment: the agents whose home is a site the fault
    takes away sign in again when the fault's action begins. None when no such agent exists."""
    agents = [a.id for a in DEMO_AGENTS if a.home_site in spec.affected_sites]
    faults = [a for a in experiment.get("method") or [] if a.get("provider", {}).get("func") != HOLD_FUNC]
    if not agents or not faults:
        return None
    topology = str(topo.source) if topo.source else ""
    return relogin_control.declaration(drill_id, faults[0]["name"], agents, count, topology)


def await_converged(topo: Topology, progress: Progress) -> None:
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
        self.canary = Canary(
            CanarySettings(
                base_url=topo.front_door_url("intake"),
                drill_id=drill_id,
                rate_per_s=d.canary_rate_per_s,
                deadline_s=d.canary_deadline_s,
                attempt_timeout_s=d.canary_attempt_timeout_s,
                retry_s=d.canary_retry_s,
                tls=front_door_tls(topo),
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


def run_chaos_experiment(
    spec: ScenarioSpec,
    drill_id: str,
    options: DrillOptions,
    topo: Topology,
    progress: Progress,
    instruments: Instruments,
) -> dict[str, Any]:
    experiment = spec.experiment()
    if options.relogin:
        surge = relogin_declaration(spec, experiment, drill_id, options.relogin, topo)
        if surge is None:
            progress("no data site is lost in this scenario: no re-login surge")
        else:
            experiment["controls"] = [surge]
            progress(f"re-login surge: {options.relogin} sign-ins {topo.drills.relogin_after_s:g} s after the fault")
    config = {
        "drill_id": drill_id,
        "duration_s": options.duration_s,
        "abort_rto_s": options.abort_rto_s or topo.drills.abort_rto_s,
        "converge_timeout_s": topo.drills.converge_timeout_s,
        "topology": str(topo.source) if topo.source else "",  # the actions and probes fault and probe this lab
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
