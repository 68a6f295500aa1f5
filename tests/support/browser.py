"""Headless Chromium for the browser tests and benches: Debian's chromium and chromedriver through
selenium, and the few steps every browser test takes (log in, wait, enter the plugin's frame)."""

from __future__ import annotations

import shutil
from pathlib import Path

CHROME_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update "
    "--disable-sync --no-first-run --window-size=1600,1000"
).split()


def have_chromium() -> bool:
    return bool(shutil.which("chromium") and shutil.which("chromedriver"))


def chrome(profile: Path, downloads: Path | None = None):
    """A new headless Chromium with its own profile; files it downloads go to ``downloads``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    driver = webdriver.Chrome(
        service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options
    )
    driver.set_page_load_timeout(60)
    if downloads is not None:
        downloads.mkdir(parents=True, exist_ok=True)
        driver.execute_cdp_cmd(
            "Browser.setDownloadBehavior",
            {"behavior": "allow", "downloadPath": str(downloads), "eventsEnabled": True},
        )
    return driver


def wait(driver, condition, timeout: float = 30):
    """Wait until ``condition`` holds, asking again when it read an element the page replaced meanwhile.

    A condition such as ``"Done" in d.find_element(By.TAG_NAME, "body").text`` finds the body, then
    reads its text; a page that navigates between the two (a form submitted, a redirect) leaves a stale
    reference, which only means "not yet" — the next poll finds the new page's body."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        condition
    )


def login(driver, base: str, user: str) -> None:
    """Log in to Airflow as one of tests/support/airflow_server.py's users."""
    from selenium.webdriver.common.by import By

    from tests.support.airflow_server import PASSWORDS

    password = PASSWORDS[user]
    driver.delete_all_cookies()
    driver.get(base + "/auth/login/")
    driver.find_element(By.NAME, "username").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
    wait(driver, lambda d: "/auth/login" not in d.current_url)


def enter_plugin_frame(driver, src_part: str):
    """Switch into the iframe Airflow shows the plugin page in, once it has loaded ``src_part``."""
    from selenium.webdriver.common.by import By

    driver.switch_to.default_content()
    frame = wait(driver, lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, "iframe")), None))
    assert src_part in frame.get_attribute("src"), frame.get_attribute("src")
    driver.switch_to.frame(frame)
    wait(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, "body.mltrace-page h1, body.mltrace-page .mltrace-muted"),
    )
    return frame


def frame_path(driver) -> str:
    return driver.execute_script("return location.pathname + location.search")
