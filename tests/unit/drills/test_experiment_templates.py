"""The experiment files are exactly what their templates generate (one template per fault kind)."""

from __future__ import annotations

from pathlib import Path

from drills.experiment_templates import CONVERGE, HOLD, STEADY_STATE, catalogue, differing, write
from drills.scenarios import catalogue as scenario_files


def test_the_files_in_the_repository_are_the_generated_ones() -> None:
    assert differing() == [], "run: python -m drills.experiment_templates"


def test_a_hand_edited_or_stray_file_is_reported(tmp_path: Path) -> None:
    write(tmp_path, echo=lambda _: None)
    (tmp_path / "site-loss-a.json").write_text("{}\n")
    (tmp_path / "hand-made.json").write_text("{}\n")
    assert differing(tmp_path) == ["hand-made.json", "site-loss-a.json"]


def test_every_experiment_shares_the_steady_state_and_ends_converged() -> None:
    for scenario in catalogue():
        experiment = scenario.experiment()
        assert experiment["steady-state-hypothesis"] == STEADY_STATE
        assert experiment["rollbacks"][-1] == CONVERGE
        assert (HOLD in experiment["method"]) is scenario.hold
        arguments = [a["provider"]["arguments"] for a in (*experiment["method"], *experiment["rollbacks"])]
        assert all(args["topology"] == "${topology}" for args in arguments), scenario.name


def test_the_catalogue_has_one_file_per_template() -> None:
    assert sorted(scenario_files()) == sorted(s.name for s in catalogue())
