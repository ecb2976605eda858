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
