"""A burnt site loses exactly its data directories, and only an empty, stopped site is rebuilt."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import tomli_w
from rich.console import Console

from infra.lab import faults, lab, netns
from infra.lab.errors import LabError
from infra.lab.layout import SiteDirs
from infra.topology import DEFAULT_TOPOLOGY, Topology, load_topology, parse_topology


def _site_with_data(root: Path) -> SiteDirs:
    dirs = SiteDirs(root)
    for d in (dirs.zookeeper_data / "version-2", dirs.kafka_data, dirs.postgres_data, dirs.conf, dirs.logs):
        d.mkdir(parents=True)
    (dirs.kafka_data / "meta.properties").write_text("node.id=2\n")
    (dirs.conf / "zoo.cfg").write_text("keep me\n")
    return dirs


def test_burning_kills_first_then_deletes_the_three_data_directories_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dirs = _site_with_data(tmp_path)
    order: list[str] = []

    def kill_site(topo: Topology, site: str) -> int:
        order.append(f"kill {site}")
        return 7

    monkeypatch.setattr(faults, "kill_site", kill_site)
    burnt = faults.burn_site(load_topology(), "b", dirs)
    assert order == ["kill b"]
    assert sorted(burnt) == sorted(str(p) for p in (dirs.zookeeper_data, dirs.kafka_data, dirs.postgres_data))
    assert not dirs.kafka_data.exists() and not dirs.zookeeper_data.exists() and not dirs.postgres_data.exists()
    assert (dirs.conf / "zoo.cfg").exists() and dirs.logs.exists()  # configuration and logs are not data


def _lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> lab.Lab:
    raw = tomllib.loads(DEFAULT_TOPOLOGY.read_text())
    raw["lab"]["state_dir"] = str(tmp_path)
    the_lab = lab.Lab(parse_topology(tomli_w.dumps(raw), "t.toml"), Console(quiet=True))
    monkeypatch.setattr(the_lab, "restore_site", lambda site: ["restored"])
    return the_lab


def test_a_running_site_is_not_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netns, "pids_in", lambda ns: [1234])
    with pytest.raises(LabError, match="is running"):
        _lab(tmp_path, monkeypatch).rebuild_site("b")


def test_a_site_that_kept_its_data_is_restored_not_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    the_lab = _lab(tmp_path, monkeypatch)
    _site_with_data(the_lab.layout.site("b").root)
    monkeypatch.setattr(netns, "pids_in", lambda ns: [])
    with pytest.raises(LabError, match="restore-site b"):
        the_lab.rebuild_site("b")


def test_a_burnt_site_is_rebuilt_through_the_restore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netns, "pids_in", lambda ns: [])
    assert _lab(tmp_path, monkeypatch).rebuild_site("b") == ["restored"]
