"""The scenario catalogue: every Chaos Toolkit experiment in `drills/experiments/`.

An experiment file is the scenario; its `ccdr` extension says what the fault is and which sites
it takes away (their singleton roles count as gone while the fault lasts).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXPERIMENTS = Path(__file__).with_name("experiments")
PRIMARY_SITE_ALIAS = "site-loss-primary"  # resolved at run time to site-loss-<the primary's site>


class UnknownScenario(ValueError):
    pass


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    title: str
    description: str
    fault: str
    affected_sites: tuple[str, ...]
    path: Path
    data_check: str = ""  # data drills: "restore" or "repair" (drills.data_checks)

    def experiment(self) -> dict[str, Any]:
        return json.loads(self.path.read_text())


def _spec(path: Path) -> ScenarioSpec:
    raw = json.loads(path.read_text())
    ext: dict[str, Any] = next((e for e in raw.get("extensions", []) if e.get("name") == "ccdr"), {})
    return ScenarioSpec(
        name=path.stem,
        title=raw["title"],
        description=raw.get("description", ""),
        fault=ext.get("fault", ""),
        affected_sites=tuple(ext.get("affected_sites", ())),
        path=path,
        data_check=str(ext.get("data_check", "")),
    )


def catalogue() -> dict[str, ScenarioSpec]:
    return {p.stem: _spec(p) for p in sorted(EXPERIMENTS.glob("*.json"))}


def scenario(name: str) -> ScenarioSpec:
    known = catalogue()
    if name not in known:
        raise UnknownScenario(
            f"unknown scenario {name!r}; known: {', '.join([*known, PRIMARY_SITE_ALIAS])} (ccdr drill list)"
        )
    return known[name]
