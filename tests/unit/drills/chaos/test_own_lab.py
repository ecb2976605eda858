"""A drill run with `--topology X` faults and probes X and nothing else: every experiment hands its
actions and probes the drill's topology, and every one of them loads exactly that file (checked by
stopping each at the moment it loads a topology, before it touches anything)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from drills.chaos import actions, probes
from drills.scenarios import EXPERIMENTS
from infra.topology import DEFAULT_TOPOLOGY, load_topology

MODULES = {"drills.chaos.actions": actions, "drills.chaos.probes": probes}


class Loaded(Exception):
    """Raised by the stand-in loader: the function got as far as choosing its lab."""


def _providers() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(EXPERIMENTS.glob("*.json")):
        exp = json.loads(path.read_text())
        steps = [*exp.get("method", []), *exp.get("rollbacks", [])]
        steps += exp.get("steady-state-hypothesis", {}).get("probes", [])
        out += [(path.stem, s["provider"]) for s in steps if s["provider"].get("module") in MODULES]
    return out


PROVIDERS = _providers()


def test_every_experiment_takes_the_topology_from_the_drill() -> None:
    for path in sorted(EXPERIMENTS.glob("*.json")):
        assert json.loads(path.read_text())["configuration"]["topology"]["key"] == "CCDR_TOPOLOGY", path.name
    assert PROVIDERS
    for name, provider in PROVIDERS:
        assert provider.get("arguments", {}).get("topology") == "${topology}", (name, provider["func"])


@pytest.mark.parametrize(("experiment", "provider"), PROVIDERS, ids=[f"{n}:{p['func']}" for n, p in PROVIDERS])
def test_each_action_and_probe_loads_the_topology_it_is_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, experiment: str, provider: dict[str, Any]
) -> None:
    loaded: list[Path | None] = []

    def stand_in(path: Path | None = None) -> None:
        loaded.append(path)
        raise Loaded

    module = MODULES[provider["module"]]
    monkeypatch.setattr(module, "load_topology", stand_in)
    other_lab = tmp_path / "other-lab.toml"
    arguments = {k: (v if not str(v).startswith("${") else 1) for k, v in provider.get("arguments", {}).items()}
    arguments["topology"] = str(other_lab)
    with pytest.raises(Loaded):
        getattr(module, provider["func"])(**arguments)
    assert loaded == [other_lab]


def test_a_loaded_topology_remembers_its_file_for_the_drill(tmp_path: Path) -> None:
    copy = tmp_path / "lab-x.toml"
    copy.write_text(DEFAULT_TOPOLOGY.read_text())
    topo = load_topology(copy)
    assert topo.source == copy
    assert "source" not in topo.model_dump()  # not part of the topology itself
