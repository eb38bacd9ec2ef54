"""Airflow's UI in Debian's headless Chromium (`chromium`, `chromium-driver`; scripts/setup_browser.sh installs
them), driven by Selenium as a user clicks through it: the simple auth manager's login form, then the DAG list,
whose DAG ids are read from the page's links."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path(os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver"))
PAGE_TIMEOUT_SECONDS = 60


@contextmanager
def headless_chromium(profile: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: WebDriver, condition, what: str):
    try:
        return WebDriverWait(driver, PAGE_TIMEOUT_SECONDS).until(condition)
    except TimeoutException:
        raise AssertionError(f"{what} not within {PAGE_TIMEOUT_SECONDS} s; the page at {driver.current_url}") from None


def log_in(driver: WebDriver, base_url: str, username: str, password: str) -> None:
    """Opens the UI, which sends a visitor to the login form, and signs in."""
    driver.get(base_url + "/")
    wait_for(driver, lambda d: d.find_elements(By.NAME, "username"), "the login form")
    assert "/auth/login" in driver.current_url, driver.current_url
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(driver, lambda d: "/auth/login" not in d.current_url, "leaving the login form")


def listed_dag_ids(driver: WebDriver, base_url: str, expected: set[str]) -> set[str]:
    """The DAG ids the DAG list page shows: the texts of its links to `/dags/<id>`, once `expected` are all
    there (the list renders after the page's own API calls return)."""
    driver.get(base_url + "/dags")

    def shown(d: WebDriver) -> set[str] | None:
        ids = set()
        for link in d.find_elements(By.CSS_SELECTOR, "a[href*='/dags/']"):
            href = (link.get_attribute("href") or "").rstrip("/")
            if href.startswith(base_url + "/dags/") and href.count("/") == base_url.count("/") + 2:
                ids.add(link.text.strip())
        return ids if expected <= ids else None

    return wait_for(driver, shown, f"the DAG list showing {sorted(expected)}")
