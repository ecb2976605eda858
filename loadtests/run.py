"""`ccdr load run`: headless locust in a subprocess, a progress line while it runs, capacity and SLO verdict after.

Importing locust monkey-patches the process with gevent, so this module (imported by the ccdr CLI)
never does: it builds locust's command line and environment (pure), starts locust in its own process
group, prints a progress line from `<out>/locust_stats_history.csv` every few seconds, forwards one
Ctrl-C as SIGINT (locust then stops its users, judges the SLO and writes its CSVs and HTML report), and
reads the history back with `loadtests.knee` into a one-screen summary.

The exit status is 0 when locust ran and its SLO gate (`loadtests.slo`) passed the whole run, 1 otherwise.
"""

from __future__ import annotations

import math
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from infra.topology import Topology
from loadtests import knee, shapes, signing
from loadtests import summary as results
from loadtests.knee import OVERALL, HistoryRow
from loadtests.locust_command import LOCUST, headless
from loadtests.slo import SloLimits
from loadtests.summary import HISTORY_CSV, LOCUST_LOG, PREFIX, REPORT_HTML

COMMAND_TXT = "command.txt"
PROGRESS_EVERY_S = 5.0  # locust flushes its CSVs every 5 s; more often would repeat the same row

ShapeParams = shapes.ConstantParams | shapes.StepParams | shapes.SpikeParams | shapes.SoakParams
SHAPE_CLASSES = {
    "constant": shapes.ConstantShape,
    "step": shapes.StepShape,
    "spike": shapes.SpikeShape,
    "soak": shapes.SoakShape,
}
# Per shape: command-line option (Python name) -> the shape's parameter, read by shapes.py as CCDR_SHAPE_<PARAM>.
SHAPE_OPTIONS: dict[str, dict[str, str]] = {
    "constant": {"users": "users", "spawn_rate": "spawn_rate", "duration": "duration_s"},
    "step": {
        "users": "start_users",
        "step_users": "step_users",
        "step_s": "step_s",
        "steps": "max_steps",
        "spawn_rate": "spawn_rate",
    },
    "spike": {
        "users": "users",
        "spike_users": "spike_users",
        "spike_at": "spike_at_s",
        "spike_s": "spike_s",
        "spike_rate": "spike_rate",
        "spawn_rate": "spawn_rate",
        "duration": "duration_s",
    },
    "soak": {"users": "users", "ramp_s": "ramp_s", "duration": "duration_s"},
}
ZERO_ALLOWED = {"step_users", "spike_at", "ramp_s"}  # every other shape option must be > 0


class LoadError(Exception):
    """A load run that cannot start, or whose results cannot be read (one line, exit 1)."""


@dataclass(frozen=True)
class Target:
    """Where the load goes: the intake's HTTP base URL and its SMTP listener; desk agents sign in
    at the ticket API (`tickets_url`) for the hotline entries they type."""

    url: str
    smtp_host: str
    smtp_port: int
    label: str
    tickets_url: str

    def describe(self) -> str:
        return f"{self.label} ({self.url}, SMTP {self.smtp_host}:{self.smtp_port})"


def target_of(topo: Topology, site: str | None = None) -> Target:
    """The front door (HAProxy over both sites), or one data site's own intake."""
    if site is None:
        fd = topo.front_door
        return Target(
            topo.front_door_url("intake"),
            str(fd.address),
            fd.intake_smtp,
            "the front door",
            topo.front_door_url("tickets"),
        )
    if site not in topo.sites:
        raise LoadError(f"--site {site!r}: unknown site; data sites: {', '.join(topo.data_sites)}")
    if site not in topo.data_sites:
        raise LoadError(f"--site {site!r} is the witness and runs no intake; data sites: {', '.join(topo.data_sites)}")
    address, ports = topo.sites[site].address, topo.ports
    return Target(
        topo.site_url(site, "intake"),
        str(address),
        ports.intake_smtp,
        f"site {site} only",
        topo.site_url(site, "tickets"),
    )


def override_target(target: Target, host: str | None, smtp: str | None) -> Target:
    """`target` with `--host URL` and/or `--smtp HOST:PORT` replacing its addresses (another intake)."""
    url, smtp_host, smtp_port = target.url, target.smtp_host, target.smtp_port
    if host is not None:
        if not host.startswith(("http://", "https://")) or len(host.split("://", 1)[1].strip("/")) == 0:
            raise LoadError(f"--host {host!r}: expected https://HOST:PORT (or http://)")
        url = host.rstrip("/")
    if smtp is not None:
        name, sep, port = smtp.rpartition(":")
        if not sep or not name or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise LoadError(f"--smtp {smtp!r}: expected HOST:PORT")
        smtp_host, smtp_port = name, int(port)
    if (url, smtp_host, smtp_port) == (target.url, target.smtp_host, target.smtp_port):
        return target
    return Target(url, smtp_host, smtp_port, "a custom intake", target.tickets_url)


def _flag(option: str) -> str:
    return "--" + option.replace("_", "-")


def shape_env(shape: str, given: Mapping[str, float | None]) -> dict[str, str]:
    """The CCDR_SHAPE_* variables for the options given (None: the shape's default); refused when bad."""
    if shape not in SHAPE_OPTIONS:
        raise LoadError(f"--shape {shape!r}: expected one of {', '.join(SHAPE_OPTIONS)}")
    options = SHAPE_OPTIONS[shape]
    env: dict[str, str] = {}
    for option, given_value in given.items():
        if given_value is None:
            continue
        value = float(given_value)
        if option not in options:
            takes = ", ".join(_flag(o) for o in options)
            raise LoadError(f"{_flag(option)} does not apply to the {shape} shape (it takes {takes})")
        floor = 0 if option in ZERO_ALLOWED else None
        if not math.isfinite(value) or value < 0 or (floor is None and value == 0):
            raise LoadError(f"{_flag(option)} must be {'>= 0' if floor == 0 else '> 0'}, not {value:g}")
        env[shapes.ENV_PREFIX + options[option].upper()] = str(int(value)) if value.is_integer() else str(value)
    shape_params(shape, env)
    return env


def shape_params(shape: str, env: Mapping[str, str]) -> ShapeParams:
    """The shape's parameters as locust will read them from `env` (shapes.py validates them)."""
    try:
        return SHAPE_CLASSES[shape](env=env).params
    except ValueError as exc:
        raise LoadError(str(exc)) from None


@dataclass(frozen=True)
class LoadPlan:
    """Everything one run needs, validated; turned into locust's command line by `locust_command`."""

    shape: str
    shape_env: dict[str, str]  # only the parameters given; shapes.py's defaults for the rest
    mix: str
    rate: float  # requests/s per user
    limits: SloLimits
    target: Target
    secrets: Path
    out: Path
    ca_file: Path | None = None  # the lab CA (the front door serves HTTPS); None: the system's CAs

    @property
    def params(self) -> ShapeParams:
        return shape_params(self.shape, self.shape_env)

    @property
    def title(self) -> str:
        return f"{self.shape} load on {self.target.describe()}"


def make_plan(
    shape: str,
    given: Mapping[str, float | None],
    *,
    mix: str,
    rate: float,
    slo_p99_ms: float,
    slo_error_ratio: float,
    target: Target,
    secrets: Path,
    out: Path,
    ca_file: Path | None = None,
) -> LoadPlan:
    """A validated plan; every bad value raises LoadError naming its option. Pure."""
    env = shape_env(shape, given)
    try:
        weights = shapes.parse_mix(mix)
    except ValueError as exc:
        raise LoadError(f"--mix: {exc}") from None
    if not math.isfinite(rate) or rate <= 0:
        raise LoadError(f"--rate must be > 0 requests/s per user, not {rate:g}")
    if not math.isfinite(slo_p99_ms) or slo_p99_ms <= 0:
        raise LoadError(f"--slo-p99-ms must be > 0, not {slo_p99_ms:g}")
    if not 0 <= slo_error_ratio <= 1:
        raise LoadError(f"--slo-error-ratio must be between 0 and 1, not {slo_error_ratio:g}")
    canonical = ",".join(f"{name}={weight}" for name, weight in weights.items() if weight)
    limits = SloLimits(p99_ms=float(slo_p99_ms), error_ratio=float(slo_error_ratio))
    return LoadPlan(shape, env, canonical, float(rate), limits, target, secrets, out, ca_file)


def needs_secrets(plan: LoadPlan) -> bool:
    """Monitoring and chat sign their webhooks with the lab's secrets, and desk agents sign in with
    them (the locustfile's own rule)."""
    weights = shapes.parse_mix(plan.mix)
    return bool(weights["monitoring"] or weights["chat"] or weights["hotline"] or weights["agent"])


def locust_command(plan: LoadPlan, locust: Path = LOCUST) -> list[str]:
    """Headless locust with full CSV history, an HTML report and the ccdr options. Pure."""
    # --only-summary in `headless`: no stats table every 2 s in the log; the progress line is ours.
    return [
        *headless(
            plan.target.url,
            plan.out / PREFIX,
            locust=locust,
            smtp=(plan.target.smtp_host, plan.target.smtp_port),
            mix=plan.mix,
            rate=plan.rate,
            secrets=plan.secrets,
            tickets_url=plan.target.tickets_url,
            ca_file=plan.ca_file,
        ),
        "--csv-full-history",
        "--html",
        str(plan.out / REPORT_HTML),
        "--slo-p99-ms",
        str(plan.limits.p99_ms),
        "--slo-error-ratio",
        str(plan.limits.error_ratio),
    ]


def locust_env(plan: LoadPlan, base: Mapping[str, str]) -> dict[str, str]:
    """`base` with the shape chosen; inherited CCDR_SHAPE_* dropped so the command line is the whole story. Pure."""
    env = {k: v for k, v in base.items() if not k.startswith(shapes.ENV_PREFIX)}
    return {**env, "CCDR_SHAPE": plan.shape, **plan.shape_env, "PYTHONUNBUFFERED": "1"}


def planned_s(params: ShapeParams) -> float:
    if isinstance(params, shapes.StepParams):
        return params.step_s * params.max_steps
    return params.duration_s


def knee_windows(params: ShapeParams) -> tuple[float, float]:
    """(settle_s, min_step_s) for knee.steps_from_history: its defaults (10, 20), shrunk for short levels."""
    if isinstance(params, shapes.StepParams):
        shortest = params.step_s
    elif isinstance(params, shapes.SpikeParams):
        shortest = min(params.spike_s, params.spike_at_s or params.spike_s)
    elif isinstance(params, shapes.SoakParams):
        shortest = max(params.duration_s - params.ramp_s, 1.0)
    else:
        shortest = params.duration_s
    return min(10.0, shortest / 4), min(20.0, shortest / 2)


# Running it.


class HistoryTail:
    """The rows locust appended to its stats history since the last read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._header: str | None = None
        self._partial = b""

    def read(self) -> list[HistoryRow]:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            return []
        self._offset += len(chunk)
        *complete, self._partial = (self._partial + chunk).split(b"\n")
        lines = [line.decode("utf-8", "replace").rstrip("\r") for line in complete]
        if self._header is None and lines:
            self._header = lines.pop(0)
        if self._header is None or not lines:
            return []
        try:
            return knee.parse_stats_history("\n".join([self._header, *lines]))
        except ValueError:
            return []  # progress is cosmetic; the summary reads the whole file and reports problems


def _last_words(log_text: str) -> str:
    lines = [line.strip() for line in log_text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(locust wrote nothing)"


def check_ready(plan: LoadPlan) -> None:
    """Refuse before starting anything: unreadable secrets, or an --out that already holds a run."""
    if needs_secrets(plan):
        try:
            signing.load_secrets(plan.secrets)
        except ValueError as exc:
            raise LoadError(f"{exc} (--secrets; monitoring and chat sign with them)") from None
    if (plan.out / HISTORY_CSV).exists():
        raise LoadError(f"{plan.out} already holds a run ({HISTORY_CSV}); choose another --out")
    if plan.out.exists() and not plan.out.is_dir():
        raise LoadError(f"--out {plan.out} is not a directory")


def run(
    plan: LoadPlan,
    progress: Console,
    out: Console,
    *,
    every_s: float = PROGRESS_EVERY_S,
    locust: Path = LOCUST,
    base_env: Mapping[str, str] | None = None,
) -> int:
    """Run locust to the end of the shape (or Ctrl-C), print the summary; 0 if the SLO held, else 1."""
    check_ready(plan)
    command = locust_command(plan, locust)
    env = locust_env(plan, os.environ if base_env is None else base_env)
    plan.out.mkdir(parents=True, exist_ok=True)
    shown_env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(env.items()) if k.startswith("CCDR_SHAPE"))
    (plan.out / COMMAND_TXT).write_text(f"{shown_env} {shlex.join(command)}\n")
    planned = planned_s(plan.params)
    progress.print(
        f"{plan.title} for {results.clock(planned)}; results in {plan.out}/",
        highlight=False,
    )
    log_path = plan.out / LOCUST_LOG
    with log_path.open("wb") as log:
        # Its own process group: a terminal Ctrl-C reaches only us, and we forward exactly one SIGINT.
        try:
            proc = subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
                # Started in the background a shell ignores SIGINT, and an ignored signal stays ignored
                # across exec: locust would never get the Ctrl-C we forward.
                preexec_fn=_default_sigint,
            )
        except OSError as exc:
            raise LoadError(f"cannot start {command[0]}: {exc.strerror or exc}") from None
        try:
            interrupts = _supervise(proc, HistoryTail(plan.out / HISTORY_CSV), progress, planned, every_s)
        except BaseException:
            proc.kill()  # in its own process group, nothing else would stop it
            proc.wait()
            raise
    log_text = log_path.read_text(errors="replace")
    if interrupts > 1:
        raise LoadError(f"interrupted twice: locust was killed; partial results in {plan.out}")
    history = plan.out / HISTORY_CSV
    if not history.exists() or history.stat().st_size == 0:
        raise LoadError(f"locust exited {proc.returncode} without statistics: {_last_words(log_text)} (see {log_path})")
    try:
        outcome = results.outcome_of(
            history.read_text(errors="replace"),
            log_text,
            proc.returncode,
            title=plan.title,
            limits=plan.limits,
            out=plan.out,
            windows=knee_windows(plan.params),
        )
    except results.ResultsError as exc:
        raise LoadError(str(exc)) from None
    if outcome.total is None and proc.returncode != 0:
        raise LoadError(f"locust exited {proc.returncode} without statistics: {_last_words(log_text)} (see {log_path})")
    for part in results.summary(outcome):
        out.print(part, highlight=False)
    return results.exit_status(proc.returncode)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _supervise(
    proc: subprocess.Popen[bytes], tail: HistoryTail, console: Console, planned: float, every_s: float
) -> int:
    """Wait for locust, printing progress; forward the first Ctrl-C, kill on the second. Returns the Ctrl-C count."""
    interrupts = 0

    def on_sigint(signum: int, frame: object) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1:
            console.print("Ctrl-C: locust stops its users and writes its results (Ctrl-C again to kill it)")
            proc.send_signal(signal.SIGINT)
        else:
            proc.kill()

    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_sigint) if in_main else None
    next_at = time.monotonic() + every_s
    started = time.time()  # until the history's first row tells when locust's clock started
    latest: HistoryRow | None = None
    try:
        while True:
            try:
                proc.wait(timeout=min(0.5, every_s))
                return interrupts
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() >= next_at:
                rows = [r for r in tail.read() if r.name == OVERALL]
                if rows and latest is None:
                    started = rows[0].timestamp
                latest = rows[-1] if rows else latest
                console.print(results.progress_line(time.time() - started, planned, latest), highlight=False)
                next_at += every_s
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
