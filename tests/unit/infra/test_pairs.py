"""Re-pairing the intake topic without a lost site, and back (pure planning)."""

from __future__ import annotations

import pytest

from infra.lab.errors import LabError
from infra.lab.pairs import PartitionLayout, back_to_design, without_site

A, B, C = 1, 2, 3
DESIGNED = {0: [A, B], 1: [B, C], 2: [A, C], 3: [B, A], 4: [B, C], 5: [A, C]}


def test_without_a_site_each_of_its_partitions_keeps_its_survivor_first_and_gains_the_third_site() -> None:
    assert without_site(DESIGNED, B, [A, B, C]) == {0: [A, C], 1: [C, A], 3: [A, C], 4: [C, A]}


def test_partitions_the_lost_site_never_had_are_left_alone() -> None:
    moved = without_site(DESIGNED, C, [A, B, C])
    assert set(moved) == {1, 2, 4, 5} and 0 not in moved and 3 not in moved


def test_every_re_paired_partition_has_two_live_sites() -> None:
    for lost in (A, B, C):
        for replicas in without_site(DESIGNED, lost, [A, B, C]).values():
            assert lost not in replicas and len(set(replicas)) == 2


def test_a_partition_with_no_single_third_site_is_refused() -> None:
    with pytest.raises(LabError, match="no single third site"):
        without_site({0: [A, B]}, B, [A, B])


def test_back_to_design_moves_only_the_partitions_off_their_pair() -> None:
    repaired = DESIGNED | without_site(DESIGNED, B, [A, B, C])
    assert back_to_design(repaired, DESIGNED) == {0: [A, B], 1: [B, C], 3: [B, A], 4: [B, C]}
    assert back_to_design(DESIGNED, DESIGNED) == {}


def test_order_within_a_pair_is_not_a_move() -> None:
    assert back_to_design({0: [B, A]}, {0: [A, B]}) == {}


@pytest.mark.parametrize(("isr", "readable"), [([A, B], True), ([A], False)])
def test_a_partition_is_readable_only_with_two_copies_in_sync(isr: list[int], readable: bool) -> None:
    assert PartitionLayout(0, [A, B], isr, A, [A, B]).readable is readable
