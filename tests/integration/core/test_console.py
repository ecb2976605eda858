"""The agent console in a real browser (Debian's chromium, headless, through Selenium) against the
lab's front door: sign in, the queue, a ticket opened by a portal intake, a work-log entry through
the form; htmx and ccdr's own script load under the Content-Security-Policy, and nothing is blocked."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.browser import WAIT_S, axe_violations, browser, csp_blocked, sign_in
from tests.integration.core.conftest import Front, fd_tickets

__all__ = ["browser"]  # the module-scoped fixture, used by the tests below
AGENT = "an.nguyen"  # L1 network, home site a (infra/lab/demo_agents.py)
SRE, AUDITOR = "khoa.ly", "lan.mai"


def test_an_agent_signs_in_works_a_ticket_and_nothing_is_blocked(
    front: Front, browser: WebDriver, unique: Callable[[str], str]
) -> None:
    base = fd_tickets(front.topo)
    subject = unique("console")
    r = front.post(
        "portal",
        {"subject": subject, "description": "Switch tầng 3 mất kết nối", "contact": {"email": "khach@example.vn"}},
        headers={"Idempotency-Key": subject},
    )
    assert r.status_code == 202, r.text
    code = r.json()["ticket_code"]
    front.ticket(code)

    sign_in(browser, base, AGENT, front.secrets.agent_password)
    assert "My queue" in browser.page_source
    served_by = browser.find_element(By.ID, "served-by").text
    assert any(f"site {s}" in served_by for s in front.topo.data_sites), served_by
    assert browser.execute_script("return typeof window.htmx") == "object"  # vendored htmx ran under the CSP

    browser.get(f"{base}/console/tickets/{code}")
    assert browser.find_element(By.ID, "ticket-code").text.startswith(code)
    assert subject in browser.page_source
    note = f"called the customer about {subject}"
    browser.find_element(By.ID, "worklog-note").send_keys(note)
    browser.find_element(By.ID, "minutes").clear()
    browser.find_element(By.ID, "minutes").send_keys("12")
    browser.find_element(By.ID, "add-worklog").click()
    WebDriverWait(browser, WAIT_S).until(ec.text_to_be_present_in_element((By.ID, "timeline"), note))

    events = front.desk.get(f"{base}/v1/tickets/{code}/events").json()
    worklog = [e for e in events if e["kind"] == "worklog"]
    assert worklog and worklog[-1]["actor"] == AGENT and worklog[-1]["data"]["minutes_spent"] == 12

    browser.get(f"{base}/console/board")
    grid = browser.find_element(By.ID, "grid")
    assert "P1" in grid.text and browser.find_element(By.ID, "on-duty").is_displayed()

    assert csp_blocked(browser) == []


@pytest.mark.parametrize(
    ("agent", "pages"),
    [
        (None, ["/console/"]),
        (AGENT, ["/console/queue", "/console/board", "/console/search?q=switch", "/console/tickets/{code}"]),
        (SRE, ["/console/status"]),
        (AUDITOR, ["/console/audit"]),
    ],
)
def test_every_view_passes_the_accessibility_checker(
    front: Front, browser: WebDriver, agent: str | None, pages: list[str]
) -> None:
    base = fd_tickets(front.topo)
    browser.delete_all_cookies()
    if agent is not None:
        sign_in(browser, base, agent, front.secrets.agent_password)
    code = front.sql("SELECT code FROM tickets ORDER BY created_at DESC LIMIT 1")[0][0]
    found = {}
    for path in pages:
        browser.get(base + path.format(code=code))
        found[path] = axe_violations(browser)
    assert found == {path: [] for path in pages}
