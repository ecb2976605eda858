"""Every Chaos Toolkit experiment of `drills/experiments/` generated from one template per fault
kind: the configuration, the steady-state hypothesis and the hold are written once, here.

    python -m drills.experiment_templates          # rewrite drills/experiments/*.json
    python -m drills.experiment_templates --check  # exit 1 if a file differs from its template

The files stay in the repository (plain `chaos run` reads them; auditors read them); a unit test
keeps them equal to what this module generates.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drills.scenarios import EXPERIMENTS

Activity = dict[str, Any]
TOPOLOGY = "${topology}"
ACTIONS, PROBES = "drills.chaos.actions", "drills.chaos.probes"

CONFIGURATION: dict[str, Any] = {
    "drill_id": {"type": "env", "key": "CCDR_DRILL_ID", "default": "manual"},
    "duration_s": {"type": "env", "key": "CCDR_DRILL_DURATION_S", "default": 60},
    "abort_rto_s": {"type": "env", "key": "CCDR_DRILL_ABORT_RTO_S", "default": 180},
    "converge_timeout_s": {"type": "env", "key": "CCDR_DRILL_CONVERGE_TIMEOUT_S", "default": 300},
    # `ccdr drill run --topology X` sets it: the actions and probes touch X and nothing else.
    "topology": {"type": "env", "key": "CCDR_TOPOLOGY", "default": ""},
}


def _call(kind: str, name: str, module: str, func: str, **arguments: Any) -> Activity:
    return {
        "type": kind,
        "name": name,
        **({"tolerance": True} if kind == "probe" else {}),
        "provider": {
            "type": "python",
            "module": module,
            "func": func,
            "arguments": {**arguments, "topology": TOPOLOGY},
        },
    }


def _action(name: str, func: str, **arguments: Any) -> Activity:
    return _call("action", name, ACTIONS, func, **arguments)


STEADY_STATE: dict[str, Any] = {
    "title": "The desk takes incidents: intake acknowledges, tickets appear, agents log in",
    "probes": [
        _call("probe", "intake-acknowledges", PROBES, "intake_acknowledges"),
        _call("probe", "new-ticket-visible-within-30-s", PROBES, "ticket_visible_within", seconds=30),
        _call("probe", "agent-can-log-in", PROBES, "agent_can_log_in"),
    ],
}
HOLD = _action(
    "hold-the-fault-watching-intake",
    "hold_fault",
    duration_s="${duration_s}",
    abort_rto_s="${abort_rto_s}",
    drill_id="${drill_id}",
)
CONVERGE = _action("wait-until-the-lab-converged", "wait_converged", timeout_s="${converge_timeout_s}")


@dataclass(frozen=True)
class Scenario:
    """What differs between experiments: the words, the fault and how it is undone."""

    name: str
    title: str
    description: str
    tags: tuple[str, ...]
    fault: str
    affected_sites: tuple[str, ...]
    method: tuple[Activity, ...]
    rollbacks: tuple[Activity, ...]
    hold: bool = True  # the fault is held for --duration while a guard watches intake
    hold_first: bool = False  # the hold comes before the method (the load runs, then the disaster)
    data_check: str = ""  # data drills: which evidence the drill checks (drills.data_checks)

    def experiment(self) -> dict[str, Any]:
        return {
            "version": "1.0.0",
            "title": self.title,
            "description": self.description,
            "tags": ["ccdr", *self.tags],
            "extensions": [
                {
                    "name": "ccdr",
                    "scenario": self.name,
                    "fault": self.fault,
                    "affected_sites": list(self.affected_sites),
                    **({"data_check": self.data_check} if self.data_check else {}),
                }
            ],
            "configuration": CONFIGURATION,
            "steady-state-hypothesis": STEADY_STATE,
            "method": self._method(),
            "rollbacks": [*self.rollbacks, CONVERGE],
        }

    def _method(self) -> list[Activity]:
        if not self.hold:
            return [*self.method]
        return [HOLD, *self.method] if self.hold_first else [*self.method, HOLD]


def restore_database() -> Scenario:
    return Scenario(
        "restore-database",
        "The database is lost: rebuilt from the backups",
        "After --duration of load, the database counts as lost (a dropped table, a corrupted cluster): it is "
        "rebuilt from the backup repository at the witness into a scratch cluster, as the WAL archive held it "
        "at that moment (to the primary's last archived segment). The production cluster is not touched. "
        "Every canary intake acknowledged before the loss must be in the copy or replayable from the intake "
        "topic (the copy's intake ledger says where to start).",
        ("data", "backup"),
        "the database counts as lost; pgBackRest restores what the archive held then into a scratch cluster",
        (),
        (_action("lose-the-database-restore-it-from-the-backups", "lose_database", drill_id="${drill_id}"),),
        (),
        hold_first=True,
        data_check="restore",
    )


def bad_deployment() -> Scenario:
    return Scenario(
        "bad-deployment",
        "A bad release damages tickets: repaired by point-in-time restore",
        "A defective release's data migration wipes the contact and description of the drill's canary tickets "
        "(and no one else's); the desk works on for --duration before anyone notices. The rollback restores a "
        "copy as of the deploy time and writes the damaged columns back (ccdr backup repair). Every damaged "
        "ticket must be put back, and none left damaged.",
        ("data", "backup", "deployment"),
        "a release's migration wipes tickets' contact and description; repaired from a point-in-time copy",
        (),
        (_action("deploy-a-defective-release", "deploy_defective_release", drill_id="${drill_id}"),),
        (_action("repair-from-a-point-in-time-copy", "repair_defective_release", drill_id="${drill_id}"),),
        data_check="repair",
    )


def site_loss(site: str, other: str) -> Scenario:
    return Scenario(
        f"site-loss-{site}",
        f"Loss of data site {site} (power cut)",
        f"Every process of site {site} is killed at once (SIGKILL, its supervisor too) and stays down for the "
        f"drill; site {other} must take all intake, hold or win the PostgreSQL primary, and take over the SLA clock.",
        ("site-loss",),
        f"SIGKILL every process of site {site}",
        (site,),
        (_action(f"kill-site-{site}", "kill_site", site=site),),
        (_action(f"restore-site-{site}", "restore_site", site=site),),
    )


def witness_loss(site: str) -> Scenario:
    return Scenario(
        f"site-loss-{site}",
        f"Loss of the witness site {site}",
        "The witness (ZooKeeper, a Kafka controller and every partition's third replica) dies; both data sites "
        "keep quorum (2 of 3) and two replicas of every partition, and nothing should be disturbed.",
        ("site-loss", "witness"),
        f"SIGKILL every process of site {site}",
        (site,),
        (_action(f"kill-site-{site}", "kill_site", site=site),),
        (_action(f"restore-site-{site}", "restore_site", site=site),),
    )


def site_burn(site: str) -> Scenario:
    return Scenario(
        f"site-burn-{site}",
        f"Site {site} burns down (its disks are lost)",
        f"Every process of site {site} is killed and its ZooKeeper, Kafka and PostgreSQL data deleted; the "
        "rollback rebuilds it from the survivors. Every acknowledged intake must be on two sites' disks.",
        ("site-burn",),
        "SIGKILL every process of the site, then delete its data directories; rebuilt from the survivors in the "
        "rollback",
        (site,),
        (_action(f"burn-site-{site}", "burn_site", site=site),),
        (_action(f"rebuild-site-{site}", "rebuild_site", site=site),),
    )


def partition(site: str, other: str, witness: str) -> Scenario:
    return Scenario(
        f"partition-{site}-{other}",
        f"Partition between the data sites {site} | {other}",
        f"All traffic between {site} and {other} is dropped; both still reach the witness {witness}, so exactly "
        "one side keeps each leadership and PostgreSQL keeps one primary; the side without it steps aside.",
        ("partition",),
        f"nftables drop between {site} and {other}, both ways",
        (),
        (_action(f"partition-{site}-from-{other}", "partition_sites", site=site, other=other),),
        (_action("heal-the-network", "heal"),),
    )


def isolate(site: str, other: str) -> Scenario:
    return Scenario(
        f"isolate-{site}",
        f"Isolation of site {site} (cut off from everything)",
        f"Site {site} keeps running but reaches no other site and is cut off from the front door: {site} must "
        f"stop acting (fenced) and {other} take over.",
        ("partition", "isolation"),
        f"nftables drop of all traffic to and from site {site}",
        (site,),
        (_action(f"isolate-site-{site}", "isolate_site", site=site),),
        (_action("heal-the-network", "heal"),),
    )


def freeze(site: str) -> Scenario:
    return Scenario(
        f"freeze-{site}",
        f"Freeze of site {site} (SIGSTOP: a hung site)",
        f"Every process of site {site} is stopped (SIGSTOP) while holding its sockets and sessions: clients hang "
        "rather than fail.",
        ("freeze",),
        f"SIGSTOP every process of site {site}",
        (site,),
        (_action(f"freeze-site-{site}", "freeze_site", site=site),),
        (_action(f"thaw-site-{site}", "thaw_site", site=site),),
    )


def process_crash(name: str, title: str, description: str, tag: str, fault: str, crash: Activity) -> Scenario:
    return Scenario(name, title, description, (tag, "process"), fault, (), (crash,), ())


def rolling_restart(site: str) -> Scenario:
    return Scenario(
        f"rolling-restart-{site}",
        f"Rolling restart of site {site}",
        f"Every program of site {site} is restarted one at a time, each back healthy before the next (a "
        "maintenance window under load).",
        ("maintenance",),
        f"restart each program of site {site} in turn",
        (),
        (_action(f"rolling-restart-site-{site}", "rolling_restart_site", site=site),),
        (_action(f"start-every-program-of-site-{site}", "start_site_programs", site=site),),
        hold=False,
    )


def catalogue() -> list[Scenario]:
    """The lab's scenarios (sites a and b hold data, c is the witness)."""
    return [
        site_loss("a", "b"),
        site_loss("b", "a"),
        witness_loss("c"),
        site_burn("a"),
        site_burn("b"),
        partition("a", "b", "c"),
        isolate("a", "b"),
        freeze("a"),
        process_crash(
            "postgres-primary-crash",
            "Crash of the PostgreSQL primary",
            "Every PostgreSQL process of the current primary is killed; Patroni restarts it or fails over to the "
            "synchronous standby.",
            "postgres",
            "SIGKILL the primary's PostgreSQL processes",
            _action("crash-postgres-primary", "crash_postgres_primary"),
        ),
        process_crash(
            "kafka-broker-crash",
            "Crash of the Kafka broker at site a",
            "The Kafka process of site a is killed (its supervisor restarts it); partition leadership moves to b "
            "and back.",
            "kafka",
            "SIGKILL the Kafka process of site a",
            _action("crash-kafka-broker-a", "crash_kafka_broker", site="a"),
        ),
        process_crash(
            "zookeeper-leader-crash",
            "Crash of the ZooKeeper leader",
            "The ZooKeeper server leading the ensemble is killed (its supervisor restarts it); the ensemble "
            "elects a new leader and sessions survive.",
            "zookeeper",
            "SIGKILL the leading ZooKeeper server",
            _action("crash-zookeeper-leader", "crash_zookeeper_leader"),
        ),
        rolling_restart("a"),
        restore_database(),
        bad_deployment(),
    ]


def render(scenario: Scenario) -> str:
    return json.dumps(scenario.experiment(), indent=2, ensure_ascii=False) + "\n"


def differing(directory: Path = EXPERIMENTS) -> list[str]:
    """Files that are not what their template generates, and files no template generates."""
    wanted = {f"{s.name}.json": render(s) for s in catalogue()}
    present = {p.name for p in directory.glob("*.json")}
    stale = [n for n, text in wanted.items() if not (directory / n).exists() or (directory / n).read_text() != text]
    return sorted(stale + [n for n in present - set(wanted)])


def write(directory: Path = EXPERIMENTS, echo: Callable[[str], None] = print) -> None:
    wanted = {f"{s.name}.json": render(s) for s in catalogue()}
    for name, text in wanted.items():
        (directory / name).write_text(text)
    for path in directory.glob("*.json"):
        if path.name not in wanted:
            path.unlink()
            echo(f"removed {path.name} (no template generates it)")
    echo(f"{len(wanted)} experiments written to {directory}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        stale = differing()
        if stale:
            print(f"differ from their templates: {', '.join(stale)} (python -m drills.experiment_templates)")
            sys.exit(1)
    else:
        write()
