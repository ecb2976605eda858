"""Locust's headless command line, as drills and the benchmark use it."""

from __future__ import annotations

from pathlib import Path

from loadtests.locust_command import LOCUSTFILE, headless


def test_only_what_is_given() -> None:
    assert headless("http://h:1", Path("/o/l"), locust=Path("/v/locust")) == [
        "/v/locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "--host",
        "http://h:1",
        "--csv",
        "/o/l",
    ]


def test_a_fixed_crowd_for_a_fixed_time() -> None:
    command = headless(
        "http://h:1",
        Path("/o/l"),
        users=20,
        run_time_s=30,
        smtp=("10.0.0.1", 25),
        mix="portal=1",
        rate=2.5,
        secrets=Path("/s.json"),
        run_id="b1",
    )
    flags = dict(zip(command[5::2], command[6::2], strict=False))
    assert (flags["-u"], flags["-r"], flags["-t"]) == ("20", "20", "30s")
    assert (flags["--smtp-host"], flags["--smtp-port"], flags["--ccdr-mix"]) == ("10.0.0.1", "25", "portal=1")
    assert (flags["--ccdr-rate"], flags["--ccdr-secrets"], flags["--ccdr-run-id"]) == ("2.5", "/s.json", "b1")
