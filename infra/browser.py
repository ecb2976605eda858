"""Debian's `chromium`, headless, driven through Selenium (chromedriver from apt; nothing downloads
a browser of its own), and the console's sign-in as a person does it. Used by the browser tests and
by `make screenshots`."""

from __future__ import annotations

import shutil

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

WAIT_S = 20


class BrowserMissing(RuntimeError):
    """chromium or chromedriver is not installed (`make install` installs both)."""


def chromium(window: tuple[int, int], *, console_log: bool = False, trust_spki: tuple[str, ...] = ()) -> WebDriver:
    """`trust_spki`: base64 SHA-256 hashes of the public keys whose certificates the browser accepts
    although no CA it knows signed them (the lab front door's: a pin, not a blanket exemption)."""
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver is None:
        raise BrowserMissing("chromium and chromium-driver are installed by `make install`")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=en-GB"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={window[0]},{window[1]}")
    if trust_spki:
        options.add_argument(f"--ignore-certificate-errors-spki-list={','.join(trust_spki)}")
    if console_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


def sign_in(browser: WebDriver, base: str, agent: str, password: str) -> None:
    """The console's sign-in form, in English, from a browser without a session."""
    browser.delete_all_cookies()
    browser.get(f"{base}/console/lang/en?back=/console/")
    browser.find_element(By.ID, "agent_id").send_keys(agent)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "sign-in").click()
    WebDriverWait(browser, WAIT_S).until(ec.url_contains("/console/queue"))


__all__ = ["WAIT_S", "BrowserMissing", "chromium", "sign_in"]
