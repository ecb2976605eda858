"""`python -m infra.console_screenshots [--out DIR]` (`make screenshots`): sign in to the running
lab's console as each kind of user (agent, SRE, auditor) in Debian's headless chromium and save a
screenshot of every view, for docs/console.md. Needs `ccdr lab up` and a ticket or two."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import psycopg
import typer
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from infra.lab import secrets as lab_secrets
from infra.lab.database import app_dsn
from infra.lab.layout import LabLayout
from infra.topology import load_topology

WAIT_S = 20
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


def _browser() -> WebDriver:
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver is None:
        raise SystemExit("chromium and chromium-driver are installed by `make install`")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=en-GB"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={WINDOW[0]},{WINDOW[1]}")
    return webdriver.Chrome(service=Service(driver), options=options)


def _sign_in(browser: WebDriver, base: str, agent: str, password: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{base}/console/lang/en?back=/console/")
    browser.find_element(By.ID, "agent_id").send_keys(agent)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "sign-in").click()
    WebDriverWait(browser, WAIT_S).until(ec.url_contains("/console/queue"))


def main(out: Annotated[Path, typer.Option("--out", help="Where the PNG files go.")] = Path("docs/console")) -> None:
    topo = load_topology()
    secrets = lab_secrets.load(LabLayout(topo))
    base = f"http://{topo.front_door.address}:{topo.front_door.tickets_http}"
    with psycopg.connect(app_dsn(topo, secrets.app), connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT code, split_part(subject, ' ', 1) FROM tickets WHERE team = 'network' "
            "AND status NOT IN ('resolved', 'closed') ORDER BY created_at DESC LIMIT 1"
        ).fetchone()
    if row is None:
        raise SystemExit("no open network ticket in the lab: send an intake first (e.g. `make demo`)")
    code, word = row
    out.mkdir(parents=True, exist_ok=True)
    browser = _browser()
    try:
        signed_in: str | None = None
        for agent, path, name in VIEWS:
            if agent != signed_in:
                if agent is None:
                    browser.delete_all_cookies()
                else:
                    _sign_in(browser, base, agent, secrets.agent_password)
                signed_in = agent
            browser.get(base + path.format(code=code, word=word))
            target = out / f"{name}.png"
            browser.save_screenshot(str(target))
            print(f"{target}  ({agent or 'signed out'}: {path.format(code=code, word=word)})")
    finally:
        browser.quit()


if __name__ == "__main__":
    typer.run(main)
