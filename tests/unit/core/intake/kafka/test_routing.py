"""Lanes of the intake topic: which partition an intake goes to, and the order of the others."""

from __future__ import annotations

from core.intake.kafka.routing import Router, lanes_of
from tests.fakes import ManualClock


def test_pairs_are_grouped_by_the_brokers_that_hold_them_and_their_preferred_leader() -> None:
    layout = {0: [1, 2], 1: [2, 3], 2: [1, 3], 3: [2, 1], 4: [2, 3], 5: [1, 3], 6: [1, 2]}
    assert lanes_of(layout) == [(0, 6), (1, 4), (2, 5), (3,)]


def test_three_copies_on_every_site_make_one_lane_per_leading_site() -> None:
    # the lab's layout on three copies: the data sites take turns leading, the witness last
    layout = {p: [1, 2, 3] if p % 2 == 0 else [2, 1, 3] for p in range(6)}
    assert lanes_of(layout) == [(0, 2, 4), (1, 3, 5)]


def test_a_key_keeps_its_home_lane_and_partition_and_keys_spread_over_every_lane() -> None:
    router = Router([(0, 3), (1, 4), (2, 5)], suspect_s=10, clock=ManualClock())
    homes = {router.plan(f"INC-{i}".encode())[0] for i in range(60)}
    assert homes == {0, 1, 2}
    key = b"INC-7"
    assert router.plan(key) == router.plan(key)
    lane = router.plan(key)[0]
    assert router.partition(lane, key) in router.lanes[lane]
    assert router.partition(lane, key) == router.partition(lane, key)
    assert sorted(router.plan(key)) == [0, 1, 2], "every lane is in the plan"


def test_a_suspect_lane_is_tried_last_until_its_time_is_up() -> None:
    clock = ManualClock()
    router = Router([(0,), (1,), (2,)], suspect_s=10, clock=clock)
    key = next(k for k in (f"INC-{i}".encode() for i in range(100)) if Router([(0,), (1,), (2,)], 10).plan(k)[0] == 0)
    assert router.plan(key) == [0, 1, 2]
    router.suspect(0)
    assert router.plan(key) == [1, 2, 0]
    clock.now += 9.9
    assert router.plan(key) == [1, 2, 0]
    clock.now += 0.2
    assert router.plan(key) == [0, 1, 2]


def test_a_lane_kafka_reports_with_a_replica_out_of_sync_is_tried_after_the_suspect_ones() -> None:
    router = Router([(0,), (1,), (2,)], suspect_s=10, clock=ManualClock())
    key = next(k for k in (f"INC-{i}".encode() for i in range(100)) if router.plan(k)[0] == 0)
    router.suspect(1)
    assert router.plan(key, unsynced={0}) == [2, 1, 0]
