"""Panels of outer layers in the console: shown only to their roles (link and page), rendered in the
console's layout and language, live part for htmx, files handed out in a sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.agents.domain.model import Role
from core.console.panels import Artifact
from tests.unit.core.console.test_console import EN, _desk, _sign_in

HERE = Path(__file__).parent


class NotesPanel:
    """A panel with its own template, words and one file."""

    name = "notes"
    roles = frozenset({Role.AUDITOR})

    def __init__(self, tmp: Path) -> None:
        self.templates = tmp
        (tmp / "notes.html").write_text(
            '{% extends "base.html" %}{% block main %}<h1>{{ t("notes") }}</h1>'
            '<div id="live">{% include "_notes.html" %}</div>{% endblock %}'
        )
        (tmp / "_notes.html").write_text('<p id="count">{{ count }} {{ words }}</p>')
        self.file = tmp / "evidence.html"
        self.file.write_text("<html><body>signed</body></html>")
        self.labels = {"notes": {"vi": "Ghi chú", "en": "Notes"}}
        self.views = 0

    async def view(self) -> dict[str, Any]:
        self.views += 1
        return {"count": self.views, "words": "<b>escaped</b>"}

    async def artifact(self, item: str, file: str) -> Artifact | None:
        return Artifact(self.file, "text/html") if (item, file) == ("r1", "evidence.html") else None


def test_a_panel_is_shown_to_its_roles_in_the_console_layout_and_language(tmp_path: Path) -> None:
    desk = _desk(panels=[NotesPanel(tmp_path)])
    _sign_in(desk, "audit.binh", EN)
    queue = desk.client.get("/console/queue", headers=EN)
    assert 'href="/console/notes"' in queue.text  # the navigation offers it
    r = desk.client.get("/console/notes", headers=EN)
    assert r.status_code == 200 and "<h1>Notes</h1>" in r.text
    assert "&lt;b&gt;escaped&lt;/b&gt;" in r.text  # the console's autoescaping applies to panels too
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "Ghi chú" in desk.client.get("/console/notes").text  # Vietnamese by default


def test_a_panel_refuses_other_roles_and_does_not_offer_itself_to_them(tmp_path: Path) -> None:
    panel = NotesPanel(tmp_path)
    desk = _desk(panels=[panel])
    _sign_in(desk, "l1.an", EN)
    assert 'href="/console/notes"' not in desk.client.get("/console/queue", headers=EN).text
    assert desk.client.get("/console/notes", headers=EN).status_code == 403
    assert desk.client.get("/console/notes/live").status_code == 403
    assert desk.client.get("/console/notes/files/r1/evidence.html").status_code == 403
    assert panel.views == 0  # nothing was fetched for a viewer who may not see it


def test_a_panel_needs_a_session(tmp_path: Path) -> None:
    desk = _desk(panels=[NotesPanel(tmp_path)])
    r = desk.client.get("/console/notes", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/")
    live = desk.client.get("/console/notes/live")
    assert live.status_code == 401 and live.headers["hx-redirect"].startswith("/console/")


def test_a_panels_live_part_is_the_fragment_alone(tmp_path: Path) -> None:
    desk = _desk(panels=[NotesPanel(tmp_path)])
    _sign_in(desk, "audit.binh")
    r = desk.client.get("/console/notes/live")
    assert r.status_code == 200 and r.text.startswith('<p id="count">') and "<html" not in r.text


def test_a_panels_file_is_sent_in_a_sandbox_and_a_missing_one_is_404(tmp_path: Path) -> None:
    desk = _desk(panels=[NotesPanel(tmp_path)])
    _sign_in(desk, "audit.binh")
    r = desk.client.get("/console/notes/files/r1/evidence.html")
    assert r.status_code == 200 and r.text == "<html><body>signed</body></html>"
    policy = r.headers["content-security-policy"]
    assert policy.startswith("sandbox") and "script-src" not in policy
    assert desk.client.get("/console/notes/files/r2/evidence.html").status_code == 404
