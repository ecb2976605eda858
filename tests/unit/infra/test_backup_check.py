"""A restore check's verdict: the archive's tail may be missing, a hole or a stranger never."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from infra.lab.backup_check import compare

T0 = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)
CLUSTER = {f"INC-{i}": T0 + timedelta(seconds=i) for i in range(10)}


def test_a_copy_without_the_archives_tail_is_sound_and_says_what_a_restore_loses() -> None:
    copy = {f"INC-{i}" for i in range(7)}
    v = compare(T0 + timedelta(minutes=1), 2.0, CLUSTER, copy, T0 + timedelta(seconds=6))
    assert v.ok
    assert (v.missing_after, v.holes, v.unknown) == (3, 0, 0)
    assert v.lag_s == 3.0


def test_a_ticket_missing_from_inside_the_copys_range_is_a_hole() -> None:
    copy = {f"INC-{i}" for i in range(7)} - {"INC-3"}
    v = compare(T0, 2.0, CLUSTER, copy, T0 + timedelta(seconds=6))
    assert not v.ok and v.holes == 1


def test_a_ticket_the_cluster_never_had_fails_the_check() -> None:
    copy = {f"INC-{i}" for i in range(7)} | {"INC-999"}
    v = compare(T0, 2.0, CLUSTER, copy, T0 + timedelta(seconds=6))
    assert not v.ok and v.unknown == 1


def test_an_empty_copy_proves_nothing() -> None:
    v = compare(T0, 2.0, CLUSTER, set(), None)
    assert not v.ok and v.lag_s is None and v.missing_after == 10
