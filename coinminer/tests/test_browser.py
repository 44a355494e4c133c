"""Debian's headless Chromium loads the web UI while the app mines and must
show a non-zero hash rate, i.e. the page's script really ran against /json.
The screenshot is kept in build/artifacts/ for a person to look at."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from bench.stack import Stack

ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "artifacts"
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
    "--window-size=1280,720",
)


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        pytest.skip("chromium/chromedriver missing (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="cmtest-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver_path))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_page_shows_live_hash_rate(stack: Stack, browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(stack.url("webui", "/"))

    def rate(driver) -> float:  # type: ignore[no-untyped-def]
        return float(driver.find_element("id", "rate").get_attribute("data-rate") or 0)

    try:
        WebDriverWait(browser, 30, poll_frequency=0.5).until(lambda d: rate(d) > 0)
        # A few more polls so the chart has a line on the screenshot.
        WebDriverWait(browser, 30, poll_frequency=0.5).until(
            lambda d: int(d.find_element("id", "chart").get_attribute("data-points") or 0) >= 5)
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "coinminer-webui.png"))
    assert rate(browser) > 0
    shown = browser.find_element("id", "rate").text
    assert float(shown.replace(",", "")) > 0  # the visible digits, not just the attribute
    assert int(browser.find_element("id", "hashes").text.replace(",", "")) > 0
    assert browser.find_element("id", "workers").text == "1"
    assert "live" in browser.find_element("id", "status").text
