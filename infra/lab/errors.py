"""The lab's errors. Each carries one line an operator can act on; the CLI prints it and exits 1."""

from __future__ import annotations

from pathlib import Path


class LabError(Exception):
    """Base: a lab operation could not be done. The message is the whole story, on one line."""


class NotRoot(LabError):
    def __init__(self) -> None:
        super().__init__("the lab needs root (network namespaces, nftables, the postgres user): run as root")


class MissingBinary(LabError):
    def __init__(self, what: str, provided_by: str) -> None:
        super().__init__(f"{what} is missing: run `{provided_by}` (or `make install`)")


class PortTaken(LabError):
    def __init__(self, address: str, port: int, purpose: str) -> None:
        super().__init__(
            f"port {address}:{port} ({purpose}) is taken by another process: free it or change infra/topology.toml"
        )


class NotHealthy(LabError):
    def __init__(self, component: str, reason: str, log: Path | None) -> None:
        where = f"; see {log}" if log else ""
        super().__init__(f"{component} did not become healthy in time: {reason}{where}")
        self.component = component
        self.log = log


class CommandFailed(LabError):
    def __init__(self, command: list[str], returncode: int, stderr: str) -> None:
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        # Prefer the line that says what went wrong over a trailing usage hint.
        errors = [line for line in lines if line.lower().startswith(("error", "fatal"))]
        detail = (errors or lines or [f"exit {returncode}"])[-1]
        self.detail = detail
        super().__init__(f"`{' '.join(command)}` failed: {detail}")
