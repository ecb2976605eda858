"""Command-line options every `ccdr` sub-command shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

TopologyOption = Annotated[
    Path | None,
    typer.Option("--topology", envvar="CCDR_TOPOLOGY", help="Topology TOML (default: infra/topology.toml)."),
]
