"""The agent console in a real browser (Debian's chromium, headless, through Selenium) against the
lab's front door: sign in, the queue, a ticket opened by a portal intake, a work-log entry through
the form; htmx and ccdr's own script load under the Content-Security-Policy, and nothing is blocked."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.core.conftest import Front, fd_tickets

AGENT = "an.nguyen"  # L1 network, home site a (infra/lab/demo_agents.py)
WAIT_S = 20


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver is None:
        pytest.fail("chromium and chromium-driver are installed by `make install`")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=en-GB"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    try:
        yield chrome
    finally:
        chrome.quit()


def _sign_in(browser: WebDriver, base: str, password: str) -> None:
    browser.get(f"{base}/console/lang/en?back=/console/")
    browser.find_element(By.ID, "agent_id").send_keys(AGENT)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "sign-in").click()
    WebDriverWait(browser, WAIT_S).until(ec.url_contains("/console/queue"))


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

    _sign_in(browser, base, front.secrets.agent_password)
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

    blocked = [e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]
    assert blocked == []
