"""`ccdr load run`: locust against the intake (front door or one site), capacity and SLO verdict.

Only locust-free modules are imported here: locust runs in a subprocess (see loadtests/run.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from infra.cli_options import TopologyOption
from infra.lab.layout import LabLayout
from infra.lab.pki import ca_file, front_door_tls
from infra.topology import Topology, load_topology
from loadtests import run as load_run
from loadtests.relogin import SurgeInBackground
from loadtests.relogin import render as relogin_table
from loadtests.run import LoadError
from loadtests.shapes import DEFAULT_MIX
from loadtests.slo import SloLimits

app = typer.Typer(help="Load tests: locust against the intake; capacity per channel and the SLO verdict.")
console = Console(stderr=True)
out = Console()

__all__ = ["LoadError", "app"]


def default_out(shape: str, now: datetime) -> Path:
    return Path("load-results") / f"{now:%Y%m%dT%H%M%SZ}-{shape}"


@app.command()
def run(
    shape: Annotated[str, typer.Option("--shape", help="constant | step | spike | soak.")] = "step",
    users: Annotated[
        int | None, typer.Option(help="Users; step: in the first step [constant 20, step 10, spike 20, soak 30].")
    ] = None,
    step_users: Annotated[int | None, typer.Option(help="step: users added per step [10].")] = None,
    step_s: Annotated[float | None, typer.Option(help="step: seconds per step [60].")] = None,
    steps: Annotated[int | None, typer.Option(help="step: number of steps [10].")] = None,
    duration: Annotated[
        float | None, typer.Option(help="constant [300], spike [180], soak [14400]: run time in seconds.")
    ] = None,
    spawn_rate: Annotated[
        float | None, typer.Option(help="Users started per second [constant 5, step 10, spike 10].")
    ] = None,
    spike_users: Annotated[int | None, typer.Option(help="spike: users during the spike [200].")] = None,
    spike_at: Annotated[float | None, typer.Option(help="spike: seconds before the spike [60].")] = None,
    spike_s: Annotated[float | None, typer.Option(help="spike: seconds the spike lasts [30].")] = None,
    spike_rate: Annotated[float | None, typer.Option(help="spike: users started per second in it [100].")] = None,
    ramp_s: Annotated[float | None, typer.Option(help="soak: seconds to ramp up to --users [600].")] = None,
    mix: Annotated[str, typer.Option(help="Persona weights, e.g. portal=40,email=20 (others 0).")] = DEFAULT_MIX,
    rate: Annotated[float, typer.Option(help="Requests per second of each user.")] = 1.0,
    slo_p99_ms: Annotated[float, typer.Option(help="SLO: the whole run's p99 at most this (ms).")] = SloLimits.p99_ms,
    slo_error_ratio: Annotated[
        float, typer.Option(help="SLO: failures/requests at most this.")
    ] = SloLimits.error_ratio,
    site: Annotated[
        str | None, typer.Option(help="Load one data site's own intake, not the front door (can it carry it all?).")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Another intake's HTTP base URL (overrides the target's).")] = None,
    smtp: Annotated[str | None, typer.Option(help="Another SMTP listener, HOST:PORT (overrides the target's).")] = None,
    secrets: Annotated[Path | None, typer.Option(help="Channel secrets JSON (default: the lab's).")] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Results directory (default: ./load-results/<UTC time>-<shape>).")
    ] = None,
    topology: Annotated[
        Path | None,
        typer.Option("--topology", envvar="CCDR_TOPOLOGY", help="Topology TOML (default: infra/topology.toml)."),
    ] = None,
    relogin: Annotated[
        int, typer.Option(min=0, max=5000, help="A re-login surge of this many sign-ins during the run (0: none).")
    ] = 0,
    relogin_at: Annotated[float, typer.Option(min=0, help="Seconds into the run the re-login surge fires.")] = 30,
) -> None:
    """Run headless locust with a load shape; print progress, then capacity per channel and the SLO verdict.

    Ctrl-C stops the run early (locust still writes its results; twice kills it). A step run that goes past
    the knee breaches the whole-run SLO by design: read the capacity table.
    Exit status: 0 when the whole run met the SLO, 1 on a breach or when the run could not be made."""
    topo = load_topology(topology)
    target = load_run.override_target(load_run.target_of(topo, site), host, smtp)
    given = {
        "users": users,
        "step_users": step_users,
        "step_s": step_s,
        "steps": steps,
        "duration": duration,
        "spawn_rate": spawn_rate,
        "spike_users": spike_users,
        "spike_at": spike_at,
        "spike_s": spike_s,
        "spike_rate": spike_rate,
        "ramp_s": ramp_s,
    }
    shape = shape.strip().lower()
    plan = load_run.make_plan(
        shape,
        given,
        mix=mix,
        rate=rate,
        slo_p99_ms=slo_p99_ms,
        slo_error_ratio=slo_error_ratio,
        target=target,
        secrets=secrets or LabLayout(topo).secrets_file,
        out=out_dir or default_out(shape, datetime.now(UTC)),
        ca_file=ca_file(topo),
    )
    surge = _background_surge(topo, relogin, relogin_at) if relogin else None
    code = load_run.run(plan, console, out)
    if surge is not None:
        deadline = topo.drills.relogin_deadline_s
        outcomes = surge.outcomes(timeout_s=deadline * 2)
        if outcomes is None:
            console.print(
                f"[yellow]the re-login surge, due at {relogin_at:g} s, did not finish within the run[/yellow]"
            )
        else:
            out.print(relogin_table(outcomes, deadline))
            code = code or int(any(o.status != 200 for o in outcomes))
    if code:
        raise typer.Exit(code)


def _background_surge(topo: Topology, count: int, at_s: float) -> SurgeInBackground:
    """The re-login surge beside the load: every demo agent in turn, through the front door, each
    pressing "sign in" again after a refusal (as in a drill's surge)."""
    from infra.lab.demo_agents import DEMO_AGENTS
    from loadtests.relogin import topology_surge

    try:
        password = json.loads(LabLayout(topo).secrets_file.read_text())["agent_password"]
    except (OSError, ValueError, KeyError) as exc:
        raise LoadError(f"no lab secrets ({exc}): is the lab up (ccdr lab up)?") from None
    background = SurgeInBackground(at_s, lambda: topology_surge(topo, [a.id for a in DEMO_AGENTS], password, count))
    background.start()
    return background


def _base_url(topo: Topology, site: str | None, site_port: int, front_door_port: int) -> str:
    """One data site's own service, or the front door's."""
    if site is None:  # the front door serves HTTPS only
        return f"https://{topo.front_door.address}:{front_door_port}"
    if site not in topo.data_sites:
        raise LoadError(f"--site {site!r} is not a data site ({', '.join(topo.data_sites)})")
    return f"https://{topo.site(site).address}:{site_port}"


@app.command()
def storm(
    rate: Annotated[float, typer.Option(min=1, max=20_000, help="Requests per second offered, open loop.")] = 500,
    duration: Annotated[float, typer.Option(min=1, max=3600, help="Seconds of storm.")] = 20,
    urgent_share: Annotated[
        float, typer.Option(min=0, max=1, help="Share of critical alerts and hotline calls among the requests.")
    ] = 0.05,
    deadline: Annotated[float, typer.Option(min=0.5, max=120, help="A client's deadline for its one attempt.")] = 10,
    site: Annotated[str | None, typer.Option(help="One data site's own intake, not the front door.")] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Every outcome as JSON (default: load-results/).")
    ] = None,
    ticket_wait: Annotated[
        float, typer.Option(min=0, max=3600, help="Seconds to wait for every accepted intake's ticket (0: skip).")
    ] = 120,
    topology: TopologyOption = None,
) -> None:
    """Overload intake open loop (each request sent on schedule, one attempt) and show, per class of
    urgency, what was accepted, what was shed with Retry-After, and what got no answer; then check
    that every accepted intake has its ticket (exit 1 when one is missing)."""
    from loadtests.signing import agent_session_token
    from loadtests.storm import DESK_AGENT, Credentials, run_storm

    topo = load_topology(topology)
    fd = topo.front_door
    base = _base_url(topo, site, topo.ports.intake_http, fd.intake_http)
    try:
        secrets = json.loads(LabLayout(topo).secrets_file.read_text())
        alert_token, agent_password = secrets["alert_token"], secrets["agent_password"]
    except (OSError, ValueError, KeyError) as exc:
        raise LoadError(f"no lab secrets ({exc}): is the lab up (ccdr lab up)?") from None
    try:
        agent_token = agent_session_token(
            topo.front_door_url("tickets"), DESK_AGENT, agent_password, verify=front_door_tls(topo)
        )
    except ValueError as exc:
        raise LoadError(str(exc)) from None
    path = out_file or default_out("storm", datetime.now(UTC)) / "outcomes.json"
    outcomes = run_storm(
        base,
        Credentials(alert_token, agent_token),
        rate=rate,
        duration=duration,
        urgent_share=urgent_share,
        deadline_s=deadline,
        out=path,
        tls=front_door_tls(topo),
    )
    codes = [o.ticket_code for o in outcomes if o.status == 202 and o.ticket_code]
    if not ticket_wait or not codes:
        return
    from infra.lab.database import app_dsn
    from infra.lab.secrets import load as load_secrets
    from loadtests.storm import tickets_of_accepted

    landed = tickets_of_accepted(app_dsn(topo, load_secrets(LabLayout(topo)).app), codes, wait_s=ticket_wait)
    delays = f"receipt → ticket p50 {landed.p50_s:.2f} s, p99 {landed.p99_s:.2f} s" if landed.p99_s is not None else ""
    if landed.found < landed.accepted:
        raise LoadError(
            f"{landed.accepted - landed.found:,} of {landed.accepted:,} accepted intakes have no ticket "
            f"after {landed.waited_s:.0f} s ({delays or 'none found'})"
        )
    typer.echo(f"every accepted intake has its ticket ({landed.accepted:,}); {delays}")


@app.command()
def relogin(
    agents: Annotated[int, typer.Option(min=1, max=5000, help="Sign-ins in the surge (demo agents in turn).")] = 60,
    spread: Annotated[float, typer.Option(min=0, max=600, help="Seconds the surge is spread over (0: at once).")] = 0,
    deadline: Annotated[float, typer.Option(min=0.5, max=120, help="Each sign-in's one attempt times out after.")] = 30,
    site: Annotated[str | None, typer.Option(help="One data site's ticket API, not the front door.")] = None,
    topology: TopologyOption = None,
) -> None:
    """The re-login surge after a site loss: every agent of the lost site signs in at once. Prints
    how many got in, latency p50/p99/max and when the last one was in (exit 1 if any was not)."""
    import asyncio

    from infra.lab.demo_agents import DEMO_AGENTS
    from loadtests.relogin import render, surge

    topo = load_topology(topology)
    base = _base_url(topo, site, topo.ports.tickets_http, topo.front_door.tickets_http)
    try:
        password = json.loads(LabLayout(topo).secrets_file.read_text())["agent_password"]
    except (OSError, ValueError, KeyError) as exc:
        raise LoadError(f"no lab secrets ({exc}): is the lab up (ccdr lab up)?") from None
    ids = [a.id for a in DEMO_AGENTS]
    outcomes = asyncio.run(
        surge(base, ids, password, count=agents, spread_s=spread, deadline_s=deadline, tls=front_door_tls(topo))
    )
    Console().print(render(outcomes, deadline))
    if any(o.status != 200 for o in outcomes):
        raise typer.Exit(1)
