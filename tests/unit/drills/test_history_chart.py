"""`ccdr drill history --chart`: one block per scenario, runs oldest first, bars on one scale."""

from __future__ import annotations

from drills.history_chart import BAR, WIDTH, Run, chart


def _run(seq: int, intake: float | None, tickets: float | None, regressed: tuple[str, ...] = ()) -> Run:
    return Run(seq, f"r{seq}", "pass" if not regressed else "fail", intake, tickets, 0, regressed)


def test_each_scenario_is_a_block_of_its_runs_oldest_first_on_one_scale() -> None:
    lines = chart({"site-loss-b": [_run(4, 2.0, 20.0), _run(2, 4.0, 10.0)], "site-loss-a": [_run(1, 1.0, 5.0)]})
    blocks = "\n".join(lines).split("\n\n")
    assert blocks[0].startswith("site-loss-a") and blocks[1].startswith("site-loss-b")
    b_rows = blocks[1].splitlines()[2:]
    assert [row.split()[0] for row in b_rows] == ["2", "4"]
    # the longest recovery of the scenario (20 s) fills the bar; 10 s fills half of it
    assert b_rows[1].count(BAR) == WIDTH + round(2.0 / 20.0 * WIDTH)
    assert b_rows[0].count(BAR) == round(4.0 / 20.0 * WIDTH) + round(10.0 / 20.0 * WIDTH)
    assert all(len(row) <= 80 for row in lines)


def test_a_run_that_never_recovered_and_a_regression_are_shown() -> None:
    row = chart({"freeze-a": [_run(7, None, 30.0, ("intake full recovery",))]})[2]
    assert "not recovered" in row and "▲ intake full recovery" in row and "FAIL" in row
