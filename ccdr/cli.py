"""The `ccdr` command: one entry point, a sub-command per package."""

from __future__ import annotations

import logging
import sys

import typer
from rich.console import Console

from ccdr.report_cli import app as report_app
from ccdr.serve import serve
from ccdr.tickets_cli import TicketsCliError
from ccdr.tickets_cli import app as tickets_app
from core.settings import SettingsError
from drills.cli import DrillCliError
from drills.cli import app as drill_app
from failover.cli import FailoverError
from failover.cli import app as failover_app
from infra.lab.backup_cli import app as backup_app
from infra.lab.cli import app as lab_app
from infra.lab.errors import LabError
from infra.production.cli import app as render_app
from infra.topology import TopologyError
from loadtests import bench
from loadtests.cli import LoadError
from loadtests.cli import app as load_app

app = typer.Typer(help="ccdr: disaster-resilient, active-active contact-center core.", no_args_is_help=True)
app.add_typer(lab_app, name="lab")
app.add_typer(failover_app, name="failover")
app.add_typer(drill_app, name="drill")
app.add_typer(load_app, name="load")
app.add_typer(tickets_app, name="tickets")
app.add_typer(report_app, name="report")
app.add_typer(render_app, name="render")
app.add_typer(backup_app, name="backup")
app.command("serve")(serve)
app.command("bench")(bench.main)


def main() -> None:
    """Run the CLI; known errors become one line on stderr and exit status 1."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Client libraries log every refused connection; the lab's own probes report what matters.
    for noisy in ("aiokafka", "kazoo"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    try:
        code = app(standalone_mode=False)  # a command's typer.Exit(n) comes back as its return value
        if isinstance(code, int) and code:
            sys.exit(code)
    except (LabError, TopologyError, SettingsError, FailoverError, DrillCliError, LoadError, TicketsCliError) as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except typer.Abort:
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        # typer >= 0.29 vendors its own click, so test for the ClickException shape, not the class.
        show, exit_code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(exit_code, int):
            show()
            sys.exit(exit_code)
        raise


if __name__ == "__main__":
    main()
