"""The step-aside loop: what it reads, and which programs it stops and starts."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from core.settings import StepAsideSettings
from failover import registry
from failover.cutoff import Posture
from failover.step_aside import StepAside, holds_primary
from tests.fakes import ManualClock
from tests.unit.failover.memory import Ensemble, MemoryCoordination

SETTINGS = StepAsideSettings(
    after_s=2, rejoin_after_s=10, peer_fresh_s=5, probe_timeout_s=0.5, programs=["kafka", "intake", "tickets"]
)


class Programs:
    """Supervisor's view: a stopping program stays STOPPING for a few looks, and a start does
    nothing until it has stopped."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.state: dict[str, str] = {}
        self.stopping_looks = 1

    def running(self, name: str) -> bool:
        state = self.state.get(name, "STOPPED")
        if state.startswith("STOPPING"):
            left = int(state.partition(":")[2] or self.stopping_looks) - 1
            self.state[name] = f"STOPPING:{left}" if left > 0 else "STOPPED"
            return False
        return state == "RUNNING"

    def start(self, name: str) -> None:
        self.calls.append(("start", name))
        if self.state.get(name, "STOPPED") == "STOPPED":
            self.state[name] = "RUNNING"

    def stop(self, name: str) -> None:
        self.calls.append(("stop", name))
        self.state[name] = "STOPPING"


@pytest.fixture
def listening() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield f"127.0.0.1:{s.getsockname()[1]}"


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"  # nobody listens once closed: refused at once


def _peer_beats(peer: MemoryCoordination, n: int, patroni: str = "primary (running)", reaches_b: bool = False) -> None:
    peer.announce(registry.SITES, "a", {"heartbeat_at": n, "patroni": patroni, "reaches": {"b": reaches_b}})


def _site(
    endpoint: str, local: str = "replica (running)"
) -> tuple[StepAside, MemoryCoordination, Programs, ManualClock]:
    ensemble = Ensemble()
    here, peer = MemoryCoordination(ensemble, "b"), MemoryCoordination(ensemble, "a")
    here.start(1)
    peer.start(1)
    programs, clock = Programs(), ManualClock()
    return StepAside(SETTINGS, here, programs, {"a": [endpoint]}, lambda: local, clock), peer, programs, clock


def test_cut_off_from_a_live_primary_it_stops_kafka_first_then_starts_it_last_on_the_heal(listening: str) -> None:
    unreachable = _closed_port()
    step, peer, programs, clock = _site(unreachable)
    asyncio.run(step.tick())  # the agent's start: makes sure everything runs
    assert programs.calls == [("start", "tickets"), ("start", "intake"), ("start", "kafka")]
    programs.calls.clear()
    for beat in range(1, 5):  # the peer keeps refreshing its record, heard through the witness
        _peer_beats(peer, beat)
        asyncio.run(step.tick())
        clock.now += 1
    assert step.posture is Posture.STEPPED_ASIDE
    assert programs.calls == [("stop", "kafka"), ("stop", "intake"), ("stop", "tickets")]
    assert step.reason and "holds the primary" in step.reason

    programs.calls.clear()
    step._peers = {"a": [listening]}  # the partition heals
    for beat in range(5, 20):
        _peer_beats(peer, beat)
        asyncio.run(step.tick())
        clock.now += 1
    assert step.posture is Posture.SERVING
    assert programs.calls == [("start", "tickets"), ("start", "intake"), ("start", "kafka")]


def test_a_silent_peer_is_a_lost_site_and_the_survivor_keeps_serving() -> None:
    step, peer, programs, clock = _site(_closed_port())
    _peer_beats(peer, 1)
    for _ in range(30):  # the record stays (its session not yet expired) but never changes
        asyncio.run(step.tick())
        clock.now += 1
    assert step.posture is Posture.SERVING
    assert ("stop", "kafka") not in programs.calls


def test_a_peer_isolated_or_killed_right_after_a_refresh_is_not_taken_for_alive() -> None:
    """isolate-a: a's last records, written before the cut, are fresh and say it reaches b."""
    step, peer, programs, clock = _site(_closed_port())
    for beat in range(4):  # refreshed up to the cut, a tick apart
        _peer_beats(peer, beat, reaches_b=True)
        asyncio.run(step.tick())
        clock.now += 1
    for _ in range(10):  # then silence, the record still there until a's session expires
        asyncio.run(step.tick())
        clock.now += 1
    assert step.posture is Posture.SERVING
    assert ("stop", "kafka") not in programs.calls


def test_its_own_probe_is_what_it_publishes(listening: str) -> None:
    step, _, _, _ = _site(listening)
    asyncio.run(step.tick())
    assert step.reaches == {"a": True}


def test_the_primary_side_stays_whatever_it_cannot_reach() -> None:
    step, peer, programs, clock = _site(_closed_port(), local="primary (running)")
    for beat in range(10):
        _peer_beats(peer, beat, patroni="replica (running)")
        asyncio.run(step.tick())
        clock.now += 1
    assert step.posture is Posture.SERVING
    assert ("stop", "kafka") not in programs.calls


@pytest.mark.parametrize(
    ("view", "primary"),
    [("primary (running)", True), ("master (running)", True), ("replica (streaming)", False), ("unreachable", False)],
)
def test_what_names_the_primary(view: str, primary: bool) -> None:
    assert holds_primary(view) is primary


def test_a_program_still_stopping_at_the_heal_is_started_on_a_later_tick(listening: str) -> None:
    step, _, programs, _ = _site(listening)
    programs.state = {"kafka": "RUNNING", "intake": "STOPPING:3", "tickets": "RUNNING"}
    step._acted = Posture.STEPPED_ASIDE  # the heal came while intake was still shutting down
    asyncio.run(step.tick())  # intake refuses to start (still STOPPING) ...
    assert programs.state["intake"] != "RUNNING"
    asyncio.run(step.tick())  # ... and is started once it has stopped
    assert programs.state["intake"] == "RUNNING"


def test_the_hold_runs_from_our_first_failed_probe_so_the_peers_late_word_acts_at_once() -> None:
    """partition-a-b: the peer's record says it lost us only after its ZooKeeper session moved to
    a server on our side of the cut (~3 s); holding after_s from then stepped aside at 5.8 s."""
    step, peer, _, clock = _site(_closed_port())
    for beat in range(3):  # cut off for 3 s, the peer's record still from before the cut
        _peer_beats(peer, beat, reaches_b=True)
        asyncio.run(step.tick())
        clock.now += 1
    assert step.posture is Posture.SERVING
    _peer_beats(peer, 3, reaches_b=False)  # its first record written after the cut
    asyncio.run(step.tick())
    assert step.posture is Posture.STEPPED_ASIDE


def test_one_answered_probe_restarts_the_hold(listening: str) -> None:
    unreachable = _closed_port()
    step, peer, _, clock = _site(unreachable)
    _peer_beats(peer, 0)
    asyncio.run(step.tick())  # first failed probe at t=100
    clock.now += 1.5
    step._peers = {"a": [listening]}  # the link comes back for one probe
    _peer_beats(peer, 1)
    asyncio.run(step.tick())
    step._peers = {"a": [unreachable]}
    clock.now += 1
    _peer_beats(peer, 2)
    asyncio.run(step.tick())  # down again since t=102.5: 0 s of the 2 s hold
    clock.now += 1.5
    _peer_beats(peer, 3)
    asyncio.run(step.tick())  # 1.5 s: still a blip
    assert step.posture is Posture.SERVING
    clock.now += 0.5
    _peer_beats(peer, 4)
    asyncio.run(step.tick())
    assert step.posture is Posture.STEPPED_ASIDE
