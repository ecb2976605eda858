"""Waiting for supervisord's processes to settle after a non-blocking start or stop."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from infra.lab import supervise
from infra.lab.errors import LabError


class FakeSupervisor:
    """getAllProcessInfo answers from a script of snapshots, the last one repeating."""

    def __init__(self, *snapshots: list[dict[str, Any]]) -> None:
        self.snapshots = list(snapshots)
        self.calls = 0

    def getAllProcessInfo(self) -> list[dict[str, Any]]:  # supervisor's XML-RPC name
        self.calls += 1
        return self.snapshots[min(self.calls, len(self.snapshots)) - 1]


def _proc(group: str, name: str, state: str) -> dict[str, Any]:
    return {"group": group, "name": name, "statename": state}


def test_waits_until_the_named_process_reaches_a_wanted_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervise.time, "sleep", lambda _s: None)
    fake = FakeSupervisor(
        [_proc("site-a", "kafka", "STOPPING"), _proc("site-a", "intake", "RUNNING")],
        [_proc("site-a", "kafka", "STOPPED"), _proc("site-a", "intake", "RUNNING")],
    )
    supervise.settle(SimpleNamespace(supervisor=fake), "site-a", "kafka", supervise.STOPPED_STATES, timeout_s=5)
    assert fake.calls == 2


def test_a_whole_group_and_a_timeout_naming_what_is_pending(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervise.time, "sleep", lambda _s: None)
    fake = FakeSupervisor([_proc("site-a", "kafka", "STOPPING"), _proc("site-b", "kafka", "RUNNING")])
    with pytest.raises(LabError, match=r"site-a: kafka: STOPPING after 0 s"):
        supervise.settle(SimpleNamespace(supervisor=fake), "site-a", None, supervise.STOPPED_STATES, timeout_s=0)


class FakeProcess:
    """getProcessInfo for one program from a script of (state, pid), the last one repeating;
    records the start and stop calls."""

    def __init__(self, *script: tuple[str, int]) -> None:
        self.script = list(script)
        self.calls = 0
        self.started = 0

    def getProcessInfo(self, name: str) -> dict[str, Any]:  # supervisor's XML-RPC names
        self.calls += 1
        state, pid = self.script[min(self.calls, len(self.script)) - 1]
        return {"name": name, "statename": state, "pid": pid}

    def stopProcess(self, name: str, wait: bool) -> bool:
        return True

    def startProcess(self, name: str, wait: bool) -> bool:
        self.started += 1
        return True


def _restart(monkeypatch: pytest.MonkeyPatch, fake: FakeProcess, timeout_s: float = 5) -> None:
    monkeypatch.setattr(supervise.time, "sleep", lambda _s: None)
    monkeypatch.setattr(supervise, "_proxy", lambda _socket: SimpleNamespace(supervisor=fake))
    layout = SimpleNamespace(dirs_of=lambda _site: SimpleNamespace(supervisor_socket="-"))
    supervise.restart_if_running(layout, "b", "notifier", timeout_s=timeout_s)  # type: ignore[arg-type]


def test_a_restart_is_started_again_once_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeProcess(("RUNNING", 10), ("STOPPING", 10), ("STOPPED", 0), ("STARTING", 11), ("RUNNING", 11))
    _restart(monkeypatch, fake)
    assert fake.started == 1


def test_a_cold_program_its_owner_restarted_between_two_polls_counts_as_restarted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Found on a lab whose notifier was owned by b: its failover agent starts it again at once, the
    # stopped state was never seen, and `lab up` waited 120 s for it, then failed.
    fake = FakeProcess(("RUNNING", 10), ("STOPPING", 10), ("RUNNING", 12))
    _restart(monkeypatch, fake)
    assert fake.started == 0


def test_a_program_that_never_comes_back_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeProcess(("RUNNING", 10), ("STOPPING", 10))
    with pytest.raises(LabError, match=r"site-b:notifier: STOPPING after 0 s"):
        _restart(monkeypatch, fake, timeout_s=0)
