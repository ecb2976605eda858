"""`ccdr load run`: locust's command line and environment, the summary from knee results, refusals of
bad input before anything runs, and one real run of locust against the intake app on private ports."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import uvicorn
from rich.console import Console

from ccdr import cli as ccdr_cli
from core.intake.app import create_app
from core.settings import ServiceSettings
from infra.lab.layout import LabLayout, SiteDirs
from infra.lab.render import service_settings
from infra.topology import load_topology
from loadtests import run as load_run
from loadtests import shapes
from loadtests.knee import OVERALL, HistoryRow, StepStats, find_capacity
from loadtests.locust_command import LOCUSTFILE
from loadtests.run import LoadError, LoadPlan, Target
from loadtests.slo import SloLimits
from loadtests.summary import Outcome, exit_status, gate_line, outcome_of, progress_line, summary
from tests.fakes import agent_token, memory_sessions
from tests.unit.loadtests.test_knee import HEADER
from tests.unit.loadtests.test_payloads import SECRETS, MemoryBus

TOPO = load_topology()
LIMITS = SloLimits(p99_ms=1000, error_ratio=0.01)
CCDR = Path(sys.executable).with_name("ccdr")


def plan(shape: str = "step", target: Target | None = None, out: Path = Path("/tmp/out"), **given: float) -> LoadPlan:
    return load_run.make_plan(
        shape,
        given,
        mix=shapes.DEFAULT_MIX,
        rate=1.0,
        slo_p99_ms=250,
        slo_error_ratio=0.05,
        target=target or load_run.target_of(TOPO),
        secrets=Path("/tmp/secrets.json"),
        out=out,
    )


def value(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def render(parts: Sequence[object]) -> str:
    console = Console(file=io.StringIO(), width=120, color_system=None)
    for part in parts:
        console.print(part)
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


# Locust's command line and environment.


def test_the_front_door_by_default() -> None:
    command = load_run.locust_command(plan(), Path("/venv/bin/locust"))
    assert command[:3] == ["/venv/bin/locust", "-f", str(LOCUSTFILE)]
    assert {"--headless", "--csv-full-history"} <= set(command)
    fd = TOPO.front_door
    assert value(command, "--host") == f"https://{fd.address}:{fd.intake_http}"  # HTTPS only
    assert (value(command, "--smtp-host"), value(command, "--smtp-port")) == (str(fd.address), str(fd.intake_smtp))
    assert value(command, "--csv") == "/tmp/out/locust"
    assert value(command, "--html") == "/tmp/out/report.html"
    assert value(command, "--ccdr-mix") == shapes.DEFAULT_MIX
    assert value(command, "--ccdr-secrets") == "/tmp/secrets.json"
    assert (value(command, "--slo-p99-ms"), value(command, "--slo-error-ratio")) == ("250.0", "0.05")


def test_one_site_only_uses_that_sites_own_intake() -> None:
    command = load_run.locust_command(plan(target=load_run.target_of(TOPO, "b")))
    b, ports = TOPO.sites["b"].address, TOPO.ports
    assert value(command, "--host") == f"https://{b}:{ports.intake_http}"  # the sites serve HTTPS too
    assert (value(command, "--smtp-host"), value(command, "--smtp-port")) == (str(b), str(ports.intake_smtp))
    assert load_run.target_of(TOPO, "b").label == "site b only"


def test_host_and_smtp_overrides() -> None:
    custom = load_run.override_target(load_run.target_of(TOPO), "http://127.0.0.1:9999/", "localhost:2526")
    assert (custom.url, custom.smtp_host, custom.smtp_port) == ("http://127.0.0.1:9999", "localhost", 2526)
    assert load_run.override_target(load_run.target_of(TOPO), None, None) == load_run.target_of(TOPO)


def test_shape_parameters_become_the_environment_shapes_reads() -> None:
    p = plan("step", users=5, step_users=5, step_s=30, steps=3)
    inherited = {"PATH": "/bin", "CCDR_SHAPE_MAX_STEPS": "99", "CCDR_SHAPE_SPAWN_RATE": "1", "CCDR_MIX": "chat=1"}
    env = load_run.locust_env(p, inherited)
    assert env["CCDR_SHAPE"] == "step" and env["PATH"] == "/bin"
    shape_vars = {k: v for k, v in env.items() if k.startswith("CCDR_SHAPE_")}
    assert shape_vars == {
        "CCDR_SHAPE_START_USERS": "5",
        "CCDR_SHAPE_STEP_USERS": "5",
        "CCDR_SHAPE_STEP_S": "30",
        "CCDR_SHAPE_MAX_STEPS": "3",
    }
    assert shapes.StepShape(env=env).params == shapes.StepParams(5, 5, 30.0, 3, 10.0)  # what locust will run
    assert load_run.planned_s(p.params) == 90
    assert plan("constant", users=2, duration=8).shape_env == {
        "CCDR_SHAPE_USERS": "2",
        "CCDR_SHAPE_DURATION_S": "8",
    }
    assert plan("spike", spike_at=0).shape_env == {"CCDR_SHAPE_SPIKE_AT_S": "0"}


def test_every_option_is_a_shape_parameter_and_every_parameter_an_option() -> None:
    for shape, options in load_run.SHAPE_OPTIONS.items():
        params = load_run.SHAPE_CLASSES[shape](env={}).params
        assert sorted(options.values()) == sorted(f.name for f in dataclasses.fields(params)), shape


def test_knee_windows_shrink_for_short_levels() -> None:
    assert load_run.knee_windows(shapes.StepParams()) == (10.0, 20.0)  # knee.py's defaults for 60-s steps
    assert load_run.knee_windows(shapes.ConstantParams(duration_s=8)) == (2.0, 4.0)
    assert load_run.knee_windows(shapes.SpikeParams(spike_s=30, spike_at_s=60)) == (7.5, 15.0)


@pytest.mark.parametrize(
    ("shape", "given", "mix", "message"),
    [
        ("ramp", {}, shapes.DEFAULT_MIX, "--shape 'ramp'"),
        ("constant", {"step_users": 5}, shapes.DEFAULT_MIX, "--step-users does not apply to the constant shape"),
        ("step", {"users": -5}, shapes.DEFAULT_MIX, "--users must be > 0"),
        ("step", {"steps": 0}, shapes.DEFAULT_MIX, "--steps must be > 0"),
        ("soak", {"duration": float("inf")}, shapes.DEFAULT_MIX, "--duration must be > 0"),
        ("step", {}, "portal=x", "--mix: mix item 'portal=x'"),
        ("step", {}, "portal=0", "--mix: mix 'portal=0' runs no persona"),
    ],
)
def test_bad_plans_are_refused(shape: str, given: dict[str, float], mix: str, message: str) -> None:
    with pytest.raises(LoadError, match=message.replace("(", r"\(")):
        load_run.make_plan(
            shape,
            given,
            mix=mix,
            rate=1,
            slo_p99_ms=1000,
            slo_error_ratio=0.01,
            target=load_run.target_of(TOPO),
            secrets=Path("/x"),
            out=Path("/x"),
        )


def test_unknown_and_witness_sites_are_refused() -> None:
    with pytest.raises(LoadError, match="unknown site; data sites: a, b"):
        load_run.target_of(TOPO, "z")
    with pytest.raises(LoadError, match="witness"):
        load_run.target_of(TOPO, "c")


# The summary, from synthetic knee results.


def level(n: int, p99: float, errors: float = 0.0, name: str = OVERALL) -> StepStats:
    return StepStats(step=n, users=10 + 10 * n, rps=9.5 * (n + 1), p99_ms=p99, error_ratio=errors, name=name)


def outcome(steps: list[StepStats], gate: str | None, locust_exit: int) -> Outcome:
    total = HistoryRow(0, 40, OVERALL, 30.0, 0.0, 900.0, 4321, 12)
    return Outcome(
        title="step load on the front door (http://127.0.0.1:18080, SMTP 127.0.0.1:10025)",
        limits=LIMITS,
        out=Path("load-results/x"),
        steps=steps,
        capacities=find_capacity(steps, LIMITS),
        total=total,
        gate=gate,
        locust_exit=locust_exit,
    )


def test_summary_reports_the_capacity_and_the_knee_per_channel() -> None:
    steps = [level(0, 120), level(1, 180), level(2, 1400), level(3, 900)]
    steps += [level(0, 100, name="portal"), level(1, 150, name="portal"), level(2, 300, name="portal")]
    steps += [level(0, 200, name="email"), level(1, 2000, name="email")]
    text = render(summary(outcome(steps, "SLO breached: p99 1400 ms > 1000 ms", 1)))
    lines = text.splitlines()
    assert lines[0].startswith("step load on the front door (http://127.0.0.1:18080")
    assert lines[1] == "4321 requests, 12 failed; SLO p99 ≤ 1000 ms, errors ≤ 1.00%"
    row = next(line for line in lines if line.split()[:2] == ["1", "20"])
    assert "met ← capacity" in row and "19.0" in row and "180" in row
    assert "BREACH ← knee: p99 1400 ms > 1000 ms" in next(line for line in lines if line.split()[:2] == ["2", "30"])
    assert "met" in next(line for line in lines if line.split()[:2] == ["3", "40"])  # past the knee: noise
    caps = {line.split()[0]: line for line in lines if line.split() and line.split()[0] in ("all", "portal", "email")}
    assert "20 users, 19.0 req/s" in caps["all"] and "30 users: p99 1400 ms > 1000 ms" in caps["all"]
    assert "30 users, 28.5 req/s" in caps["portal"] and "not reached by the last step" in caps["portal"]
    assert "10 users, 9.5 req/s" in caps["email"]
    assert "SLO gate, whole run: SLO breached: p99 1400 ms > 1000 ms → exit 1" in text
    assert len(lines) < 40  # one screen


def test_summary_when_no_step_met_the_slo() -> None:
    text = render(summary(outcome([level(0, 2000), level(1, 3000)], None, 2)))
    assert "none: the first step breached" in text
    assert "BREACH ← knee: p99 2000 ms > 1000 ms" in text
    assert "no verdict: locust exited 2 (see locust.log) → exit 1" in text


def test_summary_without_any_judgeable_level() -> None:
    text = render(summary(outcome([], "SLO met: p99 3 ms <= 1000 ms, error ratio 0.00% <= 1.00%", 0)))
    assert "no load level lasted long enough to judge" in text and "→ exit 0" in text


def test_a_long_soak_keeps_to_one_screen() -> None:
    steps = [level(n, 100) for n in range(40)]
    text = render(summary(outcome(steps, None, 0)))
    assert "20 of 40 levels shown" in text and "← capacity" in text


def history_csv(rows: list[tuple[int, int, str, float, str, int, int]]) -> str:
    width = len(HEADER.split(","))
    out = [HEADER]
    for ts, users, name, rps, p99, total, fails in rows:
        cells = [str(ts), str(users), "POST", name, str(rps), "0.0"] + ["1"] * 7 + [p99] + ["1"] * 3
        cells += [str(total), str(fails)] + ["0"] * (width - len(cells) - 2)
        out.append(",".join(cells))
    return "\r\n".join(out) + "\r\n"


def test_outcome_from_a_history_and_the_gates_log_line() -> None:
    rows = [(100 + t, 2, OVERALL, 4.0, "12", 4 * t, 0) for t in range(9)]
    log = "[2026] host/INFO/locust.main: Shutting down\n[2026] host/INFO/loadtests.slo: SLO met: p99 12 ms <= 1000 ms\n"
    result = outcome_of(history_csv(rows), log, 0, title="t", limits=LIMITS, out=Path("o"), windows=(2.0, 4.0))
    assert [(s.users, s.rps, s.p99_ms) for s in result.steps] == [(2, 4.0, 12.0)]
    assert result.total is not None and result.total.total_requests == 32
    assert result.gate == "SLO met: p99 12 ms <= 1000 ms"
    assert gate_line("nothing") is None
    assert (exit_status(0), exit_status(1), exit_status(2)) == (0, 1, 1)


def test_progress_line_and_an_incremental_history_tail(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    tail = load_run.HistoryTail(path)
    assert tail.read() == []  # not written yet
    text = history_csv([(100, 5, OVERALL, 4.5, "120", 40, 1), (101, 6, OVERALL, 5.0, "N/A", 45, 1)])
    cut = text.index("\r\n", len(HEADER) + 2) + 10  # the first row and part of the second
    path.write_text(text[:cut], newline="")
    assert [r.users for r in tail.read()] == [5]
    path.write_text(text, newline="")
    (row,) = tail.read()
    assert (row.users, row.p99_ms) == (6, None)
    assert progress_line(65, 600, row) == "1:05 / 10:00  users 6  rps 5.0  fail/s 0.0  p99 -  requests 45 (1 failed)"
    assert progress_line(3, 3700, None) == "0:03 / 1:01:40  starting locust"


# The command line: bad input is one line and exit 1, before anything runs.


@pytest.fixture
def no_locust(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("locust must not start on bad input")

    monkeypatch.setattr(load_run.subprocess, "Popen", refuse)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--site", "z"], "error: --site 'z': unknown site; data sites: a, b"),
        (["--mix", "portal=40,bogus=1"], "error: --mix: mix item 'bogus=1'"),
        (["--users", "-5"], "error: --users must be > 0, not -5"),
        (["--shape", "spike", "--steps", "3"], "error: --steps does not apply to the spike shape"),
        (["--slo-p99-ms", "-1"], "error: --slo-p99-ms must be > 0"),
        (["--secrets", "/nonexistent/secrets.json"], "error: cannot read the lab secrets at /nonexistent"),
    ],
)
def test_cli_bad_input_is_one_line_and_runs_nothing(
    args: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_locust: None,
) -> None:
    out = tmp_path / "results"
    monkeypatch.setattr(sys, "argv", ["ccdr", "load", "run", *args, "--out", str(out)])
    with pytest.raises(SystemExit) as exited:
        ccdr_cli.main()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith(message) and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_the_ccdr_command_has_load_and_does_not_import_locust() -> None:
    refused = subprocess.run([str(CCDR), "load", "run", "--site", "x"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and refused.stderr.strip() == "error: --site 'x': unknown site; data sites: a, b"
    probe = "import sys, ccdr.cli; print(sorted({'locust', 'gevent'} & {m.split('.')[0] for m in sys.modules}))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert loaded.stdout.strip() == "[]", loaded.stderr


def test_default_lab_secrets_and_results_directory() -> None:
    from datetime import UTC, datetime

    from loadtests.cli import default_out

    assert LabLayout(TOPO).secrets_file == Path("/var/lib/ccdr-lab/secrets.json")
    now = datetime(2026, 11, 23, 8, 30, 15, tzinfo=UTC)
    assert default_out("step", now) == Path("load-results/20261123T083015Z-step")


def test_a_locust_that_dies_at_start_is_one_line_with_its_last_words(tmp_path: Path) -> None:
    fake = tmp_path / "locust"
    fake.write_text(
        "#!/bin/sh\necho 'Traceback (most recent call last):' >&2\necho 'ValueError: bad thing' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    secrets = tmp_path / "secrets.json"
    secrets.write_text(
        json.dumps(
            dict.fromkeys(
                ("alert_token", "slack_signing", "teams_hmac", "zalo_app_id", "zalo_oa_key", "agent_password"), "x"
            )
        )
    )
    p = dataclasses.replace(plan("constant", out=tmp_path / "out", users=1, duration=1), secrets=secrets)
    quiet = Console(file=io.StringIO())
    with pytest.raises(LoadError, match=r"^locust exited 1 without statistics: ValueError: bad thing \(see "):
        load_run.run(p, quiet, quiet, every_s=0.2, locust=fake)
    assert (tmp_path / "out" / "command.txt").read_text().startswith("CCDR_SHAPE=constant CCDR_SHAPE_DURATION_S=1 ")
    with pytest.raises(LoadError, match="already holds a run"):
        (tmp_path / "out" / "locust_stats_history.csv").write_text("")
        load_run.run(p, quiet, quiet, locust=fake)


FAKE_LOCUST = """#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = "--csv" ] && prefix="$2"; shift; done
trap 'cat "$FAKE_HISTORY" > "${prefix}_stats_history.csv"; echo "INFO/loadtests.slo: SLO met: all fine"; exit 0' INT
touch "$FAKE_READY"
while :; do sleep 0.1; done
"""


def _ctrl_c_once_both_listen(ready: Path) -> None:
    """The operator's Ctrl-C, once the fake locust has its trap and `run` its SIGINT handler (a
    fixed delay raced both on a loaded machine)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        handler = signal.getsignal(signal.SIGINT)  # run's own, not Python's default nor an inherited SIG_IGN
        if ready.exists() and callable(handler) and handler is not signal.default_int_handler:
            os.kill(os.getpid(), signal.SIGINT)
            return
        time.sleep(0.05)


def test_ctrl_c_is_forwarded_once_and_locust_still_reports(tmp_path: Path) -> None:
    fake = tmp_path / "locust"
    fake.write_text(FAKE_LOCUST)
    fake.chmod(0o755)
    history = tmp_path / "history.csv"
    history.write_text(history_csv([(100 + t, 3, OVERALL, 6.0, "40", 6 * t, 0) for t in range(30)]), newline="")
    p = dataclasses.replace(plan("constant", out=tmp_path / "out", users=3), mix="portal=1")
    printed, quiet = Console(file=io.StringIO(), width=120, color_system=None), Console(file=io.StringIO())
    ready = tmp_path / "ready"
    threading.Thread(target=_ctrl_c_once_both_listen, args=(ready,), daemon=True).start()
    env = {"FAKE_HISTORY": str(history), "FAKE_READY": str(ready)}
    code = load_run.run(p, quiet, printed, every_s=0.2, locust=fake, base_env=env)
    assert code == 0
    assert isinstance(printed.file, io.StringIO) and isinstance(quiet.file, io.StringIO)
    assert "Ctrl-C: locust stops its users" in quiet.file.getvalue()
    text = printed.file.getvalue()
    assert "SLO gate, whole run: SLO met: all fine → exit 0" in text and "← capacity" in text


# End to end: real locust against the real intake app (in-memory bus) on private ports; no lab needed.


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def intake(tmp_path: Path) -> Iterator[tuple[Target, MemoryBus, Path]]:
    """The intake app with its SMTP listener on 127.0.0.1, served by uvicorn in a thread."""
    bus = MemoryBus()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    http_port, smtp_port = int(sock.getsockname()[1]), free_port()
    raw = service_settings(TOPO, "a", SECRETS, SiteDirs(tmp_path / "site-a"))
    raw["intake_listen"] = {"host": "127.0.0.1", "http_port": http_port, "smtp_port": smtp_port}
    sessions = memory_sessions()
    app = create_app(ServiceSettings.model_validate(raw), bus, sessions=sessions)

    async def login(body: dict[str, str]) -> dict[str, str]:  # the ticket API's sign-in, standing in
        return {"token": agent_token(sessions, body["agent_id"])}

    app.add_api_route("/v1/agents/login", login, methods=["POST"])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the intake app did not start"
        time.sleep(0.05)
    secrets = tmp_path / "secrets.json"
    names = ("alert_token", "slack_signing", "teams_hmac", "zalo_app_id", "zalo_oa_key", "agent_password")
    secrets.write_text(json.dumps({n: getattr(SECRETS, n) for n in names}))
    base = f"http://127.0.0.1:{http_port}"
    target = Target(base, "127.0.0.1", smtp_port, "the test intake", base)
    try:
        yield target, bus, secrets
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_a_real_run_against_the_intake_app(intake: tuple[Target, MemoryBus, Path], tmp_path: Path) -> None:
    target, bus, secrets = intake

    def run(out: Path, seconds: float, p99_ms: float) -> tuple[int, str, str]:
        p = load_run.make_plan(
            "constant",
            {"users": 2, "duration": seconds, "spawn_rate": 10},
            mix=shapes.DEFAULT_MIX,
            rate=2.0,
            slo_p99_ms=p99_ms,
            slo_error_ratio=0.01,
            target=target,
            secrets=secrets,
            out=out,
        )
        printed = Console(file=io.StringIO(), width=120, color_system=None)
        progress = Console(file=io.StringIO(), width=120, color_system=None)
        code = load_run.run(p, progress, printed, every_s=2.0)
        assert isinstance(printed.file, io.StringIO) and isinstance(progress.file, io.StringIO)
        return code, printed.file.getvalue(), progress.file.getvalue()

    code, text, progress = run(tmp_path / "met", 8, 1000)
    print(progress, text)
    assert code == 0, text
    assert "users 2" in progress  # locust flushes its history every 5 s: one line at least shows the load
    for name in ("locust_stats.csv", "locust_stats_history.csv", "report.html", "locust.log", "command.txt"):
        assert (tmp_path / "met" / name).exists(), name
    with (tmp_path / "met" / "locust_stats.csv").open() as handle:
        total = next(r for r in csv.DictReader(handle) if r["Name"] == OVERALL)
    assert int(total["Request Count"]) > 0 and int(total["Failure Count"]) == 0
    assert bus.events
    assert "constant load on the test intake" in text and "← capacity" in text
    assert "SLO gate, whole run: SLO met" in text and "→ exit 0" in text

    code, text, _ = run(tmp_path / "breached", 3, 0.001)
    assert code == 1, text
    assert "SLO gate, whole run: SLO breached: p99" in text and "→ exit 1" in text
