"""Browser tests: the real admin served by pytest-django's ``live_server``, driven by headless
Chromium from Debian (``/usr/bin/chromium`` + ``/usr/bin/chromedriver``) through Selenium.

Nothing is ever downloaded: the driver and the browser are given by path, so Selenium Manager is
never consulted (and ``SE_OFFLINE`` keeps it offline should it run anyway).

Every test in this folder is marked ``e2e``: run them alone with ``pytest -m e2e``, skip them
with ``pytest -m "not e2e"``. A plain ``pytest`` on a machine without Chromium (a new
contributor's) skips them with one line saying why; with ``CI`` set, or when they were asked for
with ``-m e2e``, a missing Chromium is an error, and so is one that is there but cannot start.

When one fails, a screenshot and the page's HTML are saved under
``$TEST_ARTIFACTS_DIR/e2e/<test name>/`` (default ``<repo>/test-artifacts``).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("TARSY_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("TARSY_E2E_CHROMEDRIVER", "/usr/bin/chromedriver")
WINDOW_SIZE = (1280, 800)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    f"--window-size={WINDOW_SIZE[0]},{WINDOW_SIZE[1]}",
)
# Page loads and waits; generous for a loaded CI machine, never reached when all is well.
TIMEOUT = 20

os.environ.setdefault("SE_OFFLINE", "true")


def is_browser_test(item: pytest.Item) -> bool:
    return Path(__file__).parent in Path(str(item.path)).parents


def pytest_itemcollected(item: pytest.Item) -> None:
    """Mark every test collected from this folder ``e2e`` (before ``-m`` selects)."""
    if is_browser_test(item):
        item.add_marker(pytest.mark.e2e)


def artifacts_dir() -> Path:
    return Path(os.environ.get("TEST_ARTIFACTS_DIR") or REPO / "test-artifacts") / "e2e"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    """On a failing e2e test, save what the browser showed: ``page.png`` and ``page.html``."""
    report = yield
    driver = getattr(item, "funcargs", {}).get("browser")
    if report.failed and report.when == "call" and driver is not None:
        folder = artifacts_dir() / re.sub(r"[^\w.-]+", "_", item.name)
        folder.mkdir(parents=True, exist_ok=True)
        saved = []
        try:
            if driver.save_screenshot(str(folder / "page.png")):
                saved.append("page.png")
            (folder / "page.html").write_text(
                f"<!-- {driver.current_url} -->\n{driver.page_source}", encoding="utf-8"
            )
            saved.append("page.html")
        except WebDriverException as exc:
            report.sections.append(("e2e artifacts", f"could not save: {exc}"))
        report.sections.append(
            ("e2e artifacts", f"{', '.join(saved) or 'nothing'} saved in {folder}")
        )
    return report


def browser_required(config: pytest.Config) -> bool:
    """Whether a missing Chromium fails the run (CI, or ``-m e2e``) rather than skips it."""
    return bool(os.environ.get("CI")) or config.getoption("markexpr", "").strip() == "e2e"


def missing_browser() -> str | None:
    """What is missing to run the browser tests, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is missing or not executable"
    return None


_NOT_RUN = pytest.StashKey[str]()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without Chromium, and unless it is required, leave the selected browser tests out and
    say so in one line at the end of the run."""
    browser_tests = [item for item in items if is_browser_test(item)]
    problem = missing_browser()
    if not browser_tests or problem is None or browser_required(config):
        return
    items[:] = [item for item in items if item not in browser_tests]
    config.hook.pytest_deselected(items=browser_tests)
    config.stash[_NOT_RUN] = (
        f"{len(browser_tests)} browser tests (tests/e2e) not run: {problem}; install Debian's "
        "chromium and chromium-driver to run them (with CI=1 or -m e2e this is an error)"
    )


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    if _NOT_RUN in config.stash:
        terminalreporter.write_line(config.stash[_NOT_RUN], yellow=True)


def _start_chromium(workdir: Path) -> WebDriver:
    """Start Chromium with its profile and chromedriver's log in ``workdir``; fail with why."""
    problem = missing_browser()
    if problem:
        pytest.fail(
            f"Chromium could not start: {problem} "
            "(install Debian's chromium and chromium-driver; .ci/run does)",
            pytrace=False,
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={workdir / 'profile'}")
    log = workdir / "chromedriver.log"
    service = Service(executable_path=CHROMEDRIVER, service_args=["--verbose"], log_output=str(log))
    try:
        driver = webdriver.Chrome(service=service, options=options)
    except WebDriverException as exc:
        reason = exc.msg or str(exc)
    else:
        driver.set_page_load_timeout(TIMEOUT)
        # Make the *viewport* (what screenshots show) the window size, not the outer window.
        inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
        outer = driver.get_window_size()
        driver.set_window_size(
            WINDOW_SIZE[0] + outer["width"] - inner[0], WINDOW_SIZE[1] + outer["height"] - inner[1]
        )
        return driver
    # Outside the except block, so the report is the reason, not a chain of tracebacks.
    tail = log.read_text(errors="replace").splitlines()[-15:] if log.exists() else []
    pytest.fail(
        f"Chromium could not start: {reason}\nlast chromedriver log lines:\n" + "\n".join(tail),
        pytrace=False,
    )


@pytest.fixture(scope="session")
def chromium() -> Iterator[WebDriver]:
    """One headless Chromium for the run, on a fresh profile directory removed at the end."""
    workdir = Path(tempfile.mkdtemp(prefix="tarsy-e2e-chromium-"))
    try:
        driver = _start_chromium(workdir)
        try:
            yield driver
        finally:
            driver.quit()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def browser(chromium: WebDriver, live_server, transactional_db) -> Iterator[WebDriver]:
    """The browser for one test, starting logged out (no cookies) on a blank page."""
    chromium.delete_all_cookies()
    chromium.get("about:blank")
    yield chromium
    chromium.delete_all_cookies()


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings) -> None:
    """Hashing a password costs ~1 s by design; the login flow is the same with a cheap hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class Pages:
    """Small helpers over the driver: open a path, wait, submit, find."""

    def __init__(self, driver: WebDriver, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url

    def url(self, path: str) -> str:
        return self.base_url + path

    def open(self, path: str) -> None:
        self.driver.get(self.url(path))
        self.wait_loaded()

    def wait(self, condition: Callable[[WebDriver], object]) -> object:
        return WebDriverWait(self.driver, TIMEOUT, poll_frequency=0.05).until(condition)

    def wait_loaded(self) -> None:
        self.wait(lambda d: d.execute_script("return document.readyState") == "complete")

    def click_and_load(self, element: WebElement) -> None:
        """Click something that loads a new page, and wait until that page is in."""
        html = self.driver.find_element("tag name", "html")
        element.click()
        self.wait(ec.staleness_of(html))
        self.wait_loaded()

    def css(self, selector: str) -> WebElement:
        return self.driver.find_element("css selector", selector)

    def all_css(self, selector: str) -> list[WebElement]:
        return self.driver.find_elements("css selector", selector)

    def texts(self, selector: str) -> list[str]:
        return [e.text.strip() for e in self.all_css(selector)]

    def log_in(self, username: str, password: str) -> None:
        """Fill and send the admin's login form (the current page must be it)."""
        assert "/admin/login/" in self.driver.current_url, self.driver.current_url
        self.css("#id_username").send_keys(username)
        self.css("#id_password").send_keys(password)
        self.click_and_load(self.css("#login-form [type=submit]"))

    def screenshot(self, relative: str) -> None:
        """Save a page screenshot into the repository (docs), when asked to refresh them."""
        if os.environ.get("TARSY_UPDATE_SCREENSHOTS") == "1":
            path = REPO / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            assert self.driver.save_screenshot(str(path)), f"could not write {path}"


@pytest.fixture
def pages(browser: WebDriver, live_server) -> Pages:
    return Pages(browser, live_server.url)
