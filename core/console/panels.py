"""Pages the console shows on behalf of outer layers (an SRE status view, the auditor's drill
reports) without core importing them: a panel says who may see it, where its templates are and how
to build its page; the console routes it, checks the session and the role, and renders it with the
same layout, language and security headers as its own pages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from core.agents.domain.model import Role


@dataclass(frozen=True)
class Artifact:
    """A file a panel hands out (a signed report, its JSON): sent as is, never rendered."""

    path: Path
    media_type: str


class Panel(Protocol):
    """`name` is the URL segment (/console/<name>) and the i18n key of its navigation label; the page
    is `<name>.html` and its live part (refreshed by htmx) `_<name>.html`, both in `templates`."""

    @property
    def name(self) -> str: ...

    @property
    def roles(self) -> frozenset[Role]: ...

    @property
    def templates(self) -> Path: ...

    @property
    def labels(self) -> dict[str, dict[str, str]]:
        """Its own text: key -> {language -> text}, merged into the console's translations."""
        ...

    async def view(self) -> dict[str, Any]:
        """What its templates show, fetched now (or from a short cache)."""
        ...

    async def artifact(self, item: str, file: str) -> Artifact | None:
        """One downloadable file of one item, or None when there is no such thing."""
        ...


def visible(panels: list[Panel], role: Role) -> list[Panel]:
    return [p for p in panels if role in p.roles]


__all__ = ["Artifact", "Panel", "visible"]
