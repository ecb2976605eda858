"""What the lab renders: supervised programs and the files they read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Program:
    """One supervised process."""

    name: str
    command: str
    directory: Path
    user: str = "root"
    startsecs: int = 3
    stopsignal: str = "TERM"
    environment: str = 'LANG="C.UTF-8"'
    autostart: bool = True  # False: a cold-standby component, started by the failover agent


@dataclass(frozen=True)
class RenderedFile:
    path: Path
    content: str
    owner: str = "root"
    mode: int = 0o644
