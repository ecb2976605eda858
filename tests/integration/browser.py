"""The browser the console tests drive: Debian's `chromium`, headless, through Selenium (chromedriver
from apt; nothing downloads a browser of its own), and axe-core to check each page's accessibility."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.chromium.webdriver import ChromiumDriver
from selenium.webdriver.remote.webdriver import WebDriver

from infra.browser import WAIT_S, BrowserMissing, chromium, sign_in
from infra.lab.pki import front_door_pin
from infra.topology import load_topology

__all__ = ["WAIT_S", "axe_violations", "browser", "csp_blocked", "sign_in"]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"  # vendored by `make install` (infra/install/install.sh)
WINDOW = (1280, 900)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    try:
        chrome = chromium(WINDOW, console_log=True, trust_spki=(front_door_pin(load_topology()),))
    except BrowserMissing as exc:
        pytest.fail(str(exc))
    try:
        yield chrome
    finally:
        chrome.quit()


def axe_violations(browser: WebDriver) -> list[dict[str, Any]]:
    """axe-core's WCAG 2 A/AA violations on the current page: [{id, impact, help, nodes}]."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is vendored by `make install`")
    browser.execute_script(AXE.read_text())
    result = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})
           .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                                   nodes: v.nodes.map(n => n.target.join(' '))}))))
           .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));
        """
    )
    return list(result)


def csp_blocked(browser: WebDriver) -> list[str]:
    assert isinstance(browser, ChromiumDriver)  # `chromium` makes a webdriver.Chrome: it has the console log
    return [e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]
