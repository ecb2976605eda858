"""`python -m infra.console_screenshots [--out DIR]` (`make screenshots`): sign in to the running
lab's console as each kind of user (agent, SRE, auditor) in Debian's headless chromium and save a
screenshot of every view, for docs/console.md. Needs `ccdr lab up` and a ticket or two."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import psycopg
import typer

from infra.browser import BrowserMissing, chromium, sign_in
from infra.lab import secrets as lab_secrets
from infra.lab.database import app_dsn
from infra.lab.layout import LabLayout
from infra.lab.pki import front_door_pin
from infra.topology import load_topology

WINDOW = (1280, 1000)
# Who sees what (infra/lab/demo_agents.py): each view as the user it is for.
VIEWS: list[tuple[str | None, str, str]] = [
    (None, "/console/", "login"),
    ("an.nguyen", "/console/queue", "queue"),
    ("an.nguyen", "/console/tickets/{code}", "ticket"),
    ("an.nguyen", "/console/search?q={word}", "search"),
    ("hoa.ngo", "/console/board", "board"),
    ("khoa.ly", "/console/status", "status"),
    ("lan.mai", "/console/audit", "audit"),
]


def main(out: Annotated[Path, typer.Option("--out", help="Where the PNG files go.")] = Path("docs/console")) -> None:
    topo = load_topology()
    secrets = lab_secrets.load(LabLayout(topo))
    base = topo.front_door_url("tickets")
    with psycopg.connect(app_dsn(topo, secrets.app), connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT code, split_part(subject, ' ', 1) FROM tickets WHERE team = 'network' "
            "AND status NOT IN ('resolved', 'closed') ORDER BY created_at DESC LIMIT 1"
        ).fetchone()
    if row is None:
        raise SystemExit("no open network ticket in the lab: send an intake first (e.g. `make demo`)")
    code, word = row
    out.mkdir(parents=True, exist_ok=True)
    try:
        browser = chromium(WINDOW, trust_spki=(front_door_pin(topo),))
    except BrowserMissing as exc:
        raise SystemExit(str(exc)) from None
    try:
        signed_in: str | None = None
        for agent, path, name in VIEWS:
            if agent != signed_in:
                if agent is None:
                    browser.delete_all_cookies()
                else:
                    sign_in(browser, base, agent, secrets.agent_password)
                signed_in = agent
            browser.get(base + path.format(code=code, word=word))
            target = out / f"{name}.png"
            browser.save_screenshot(str(target))
            print(f"{target}  ({agent or 'signed out'}: {path.format(code=code, word=word)})")
    finally:
        browser.quit()


if __name__ == "__main__":
    typer.run(main)
