"""The dashboard in a real browser: `orgnet app`'s command line, headless Chromium, every page.

Starts the server on a free port on 127.0.0.1, opens each page, waits until Streamlit has
rendered it (app container present, no "Running" indicator, the page title shown), checks that no
exception or error box is shown, and saves a screenshot per page under ``artifacts/app/``.
Skipped with the reason when Chromium or chromedriver is not installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from orgnet.cli_app import APP_WORKSPACE_ENV, streamlit_command
from tests.app.conftest import PAGES, ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = ROOT / "artifacts" / "app"

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed "
                                "(pip install orgnet[dev])")
if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
    pytest.skip(f"headless browser tests need {CHROMIUM} and {CHROMEDRIVER} "
                "(apt-get install chromium chromium-driver)", allow_module_level=True)

from selenium.common.exceptions import TimeoutException, WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


@pytest.fixture(scope="module")
def server(sample_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    env = dict(os.environ)
    env[APP_WORKSPACE_ENV] = str(sample_workspace)
    env.pop("ORGNET_APP_CONFIG", None)
    log = tmp_path_factory.mktemp("app-server") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(streamlit_command("127.0.0.1", port), env=env, cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_http(f"http://127.0.0.1:{port}/_stcore/health", 60)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", "--window-size=1366,768",
                "--hide-scrollbars", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        opts.add_argument(arg)
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    except WebDriverException as exc:
        pytest.skip(f"Chromium could not start: {exc.msg}")
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _rendered(driver: object, title: str) -> bool:
    d = driver  # selenium WebDriver
    if not d.find_elements(By.CSS_SELECTOR, '[data-testid="stAppViewContainer"]'):  # type: ignore[attr-defined]
        return False
    if d.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidgetRunningIcon"], '  # type: ignore[attr-defined]
                                        '[data-testid="stStatusWidgetRunningManIcon"]'):
        return False
    if d.find_elements(By.CSS_SELECTOR, '[data-testid="stSkeleton"]'):  # type: ignore[attr-defined]
        return False
    heads = d.find_elements(By.CSS_SELECTOR, "h1")  # type: ignore[attr-defined]
    return any(title in h.text for h in heads)


def open_page(driver: object, url: str, title: str, timeout: float = 90) -> None:
    """Load ``url`` and wait until the page has finished running and drawing."""
    driver.get(url)  # type: ignore[attr-defined]
    try:
        WebDriverWait(driver, timeout, poll_frequency=0.25).until(lambda d: _rendered(d, title))
    except TimeoutException:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "timeout.png"))  # type: ignore[attr-defined]
        raise
    # Charts draw after the script finishes; give plotly a moment to lay out.
    WebDriverWait(driver, 15).until(
        lambda d: all(c.size["height"] > 50 for c in d.find_elements(
            By.CSS_SELECTOR, '[data-testid="stPlotlyChart"]')))
    time.sleep(0.8)


def assert_no_errors(driver: object) -> None:
    exc = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')  # type: ignore[attr-defined]
    assert not exc, exc[0].text[:2000]
    err = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stAlertContentError"]')  # type: ignore[attr-defined]
    assert not err, err[0].text[:2000]
    dialogs = driver.find_elements(By.CSS_SELECTOR, '[role="dialog"]')  # type: ignore[attr-defined]
    assert not any("not found" in d.text for d in dialogs), dialogs[0].text[:500]


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders(server: str, browser: object, page: str) -> None:
    # The default page lives at the root URL.
    open_page(browser, f"{server}/{'' if page == 'overview' else page}", PAGES[page])
    assert_no_errors(browser)
    charts = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stPlotlyChart"]')  # type: ignore[attr-defined]
    if page not in ("export",):
        assert charts, f"{page}: no chart drawn"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"{page}.png"))  # type: ignore[attr-defined]


def test_overview_full_hd(server: str, browser: object) -> None:
    browser.set_window_size(1920, 1080)  # type: ignore[attr-defined]
    try:
        open_page(browser, f"{server}/", "Overview")
        assert_no_errors(browser)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "overview-1920.png"))  # type: ignore[attr-defined]
    finally:
        browser.set_window_size(1366, 768)  # type: ignore[attr-defined]
