"""What a drill is asked to do and what it hands back: shared by the runner's three stages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from drills import ledger
from drills.report import DrillReport, LoadStats, Objectives

Progress = Callable[[str], None]


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
    relogin: int = 0  # sign-ins of the lost site's agents fired at the fault (0: no re-login surge)


@dataclass
class DrillResult:
    report: DrillReport
    entry: ledger.LedgerEntry
    directory: Path
    html: Path
    pdf: Path | None = None
    mirrored: bool = True
    warnings: list[str] = field(default_factory=list)


class LoadHook(Protocol):
    """Optional load alongside the canary (locust: loadtests/drill_load.py)."""

    def start(self, rate_per_s: float) -> None: ...

    def stop(self) -> LoadStats | None: ...

    def artifacts(self) -> dict[str, bytes]: ...
