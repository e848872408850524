"""The retention overview in a real browser, under a strict Content-Security-Policy.

An operator opens the overview from the admin's index; every chart image loads (a non-empty
SVG, drawn); the backlog and the last runs are there; switching the admin to the dark theme
swaps every chart for its dark drawing; and the browser reports no CSP violation on the way.

With ``TARSY_UPDATE_SCREENSHOTS=1`` it refreshes ``docs/admin-retention-overview.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from retention.models import CleanupRun
from retention.overview.charts import CHARTS
from tests.e2e.conftest import Pages
from tests.retention.test_overview import STRICT_CSP

PASSWORD = "e2e-not-a-secret-5d1a"
OVERVIEW = "/admin/retention/overview/"


def seed_month() -> None:
    """Thirty days of two pods: retention twice a day, orphan detection daily, sweeps that
    deleted files, a few failures, and a backlog measured by the latest retention run."""
    now = timezone.now()
    runs = []
    for day in range(30):
        for host, hour in (("tarsy-ops-7c9f-abcde", 1), ("tarsy-ops-7c9f-fghij", 13)):
            start = now - timedelta(days=day, hours=hour)
            runs.append(
                CleanupRun(
                    job="retention", host=host, started_at=start,
                    finished_at=start + timedelta(seconds=20 + (day * 7) % 50),
                    outcome="failed" if day in (4, 17) and hour == 1 else "success",
                    counts={
                        "soft_deleted": 300 + (day * 37) % 200, "events_expired": 900 + day * 11,
                        "purged": 40 + day % 9, "runs_expired": 30,
                        "backlog_due_for_soft_delete": 120 + day, "backlog_due_for_purge": 8,
                        "backlog_events_past_ttl": 4200, "backlog_sessions_held": 3,
                    },
                )
            )  # fmt: skip
        start = now - timedelta(days=day, hours=6)
        runs.append(
            CleanupRun(job="orphans", host="tarsy-ops-7c9f-abcde", started_at=start,
                       finished_at=start + timedelta(milliseconds=300), outcome="success",
                       counts={"orphans_marked": day % 4})
        )  # fmt: skip
        for minutes in (10, 250, 600):
            start = now - timedelta(days=day, minutes=minutes)
            runs.append(
                CleanupRun(job="sweep", host="tarsy-ops-7c9f-abcde", started_at=start,
                           finished_at=start + timedelta(milliseconds=40 + minutes % 90),
                           outcome="failed" if (day, minutes) == (9, 250) else "success",
                           counts={"deleted": 5 + (day + minutes) % 12, "bytes_freed": 10**6,
                                   "pressure_deleted": 20 if day == 12 else 0})
            )  # fmt: skip
    CleanupRun.objects.bulk_create(runs)


@pytest.fixture
def operator(transactional_db) -> User:
    user = User.objects.create_user("operator", password=PASSWORD, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_cleanuprun"))
    return user


@pytest.fixture
def strict_csp(settings) -> Iterator[None]:
    settings.SECURE_CSP = STRICT_CSP
    yield


def csp_errors(pages: Pages) -> list[str]:
    """Console messages since the last call that say a Content-Security-Policy refused
    something (Chromium logs every violation there)."""
    messages = [entry["message"] for entry in pages.driver.get_log("browser")]
    return [m for m in messages if "Content Security Policy" in m or "Refused to" in m]


def chart_images(pages: Pages, theme: str) -> list:
    return pages.all_css(f".overview-chart img.chart-{theme}")


def image_state(pages: Pages, image) -> dict:
    """Whether an image is shown and drawn, and the SVG it was loaded from (fetched again by
    the page itself, same origin, same cookies)."""
    return pages.driver.execute_async_script(
        """
        const [img, done] = arguments;
        fetch(img.currentSrc || img.src).then(r => r.text().then(text => done({
            status: r.status, type: r.headers.get("Content-Type"), svg: text,
            complete: img.complete, width: img.naturalWidth, height: img.naturalHeight,
        })));
        """,
        image,
    )


def assert_charts_drawn(pages: Pages, theme: str) -> None:
    images = chart_images(pages, theme)
    assert len(images) == len(CHARTS)
    for image in images:
        pages.driver.execute_script("arguments[0].scrollIntoView()", image)
        pages.wait(lambda d, image=image: image.is_displayed())
        pages.wait(lambda d, image=image: d.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth > 0", image))  # fmt: skip
        state = image_state(pages, image)
        assert (state["status"], state["type"]) == (200, "image/svg+xml")
        assert state["width"] > 0 and state["height"] > 0, state
        assert state["svg"].startswith("<svg") and "<rect" in state["svg"]
        assert "<script" not in state["svg"]


def full_page_screenshot(pages: Pages, relative: str) -> None:
    """The whole page, not only the viewport: the window grows to the page, then shrinks."""
    driver = pages.driver
    size = driver.get_window_size()
    inner, page = driver.execute_script(
        "return [window.innerHeight, document.documentElement.scrollHeight]"
    )
    driver.set_window_size(size["width"], size["height"] + max(0, page - inner))
    try:
        driver.execute_script("window.scrollTo(0, 0)")
        assert_charts_drawn(pages, "light")  # the lazy images now in view are loaded
        driver.execute_script("window.scrollTo(0, 0)")
        pages.screenshot(relative)
    finally:
        driver.set_window_size(size["width"], size["height"])


def test_the_overview_draws_its_charts_in_both_themes_under_a_strict_csp(
    pages: Pages, operator: User, strict_csp: None
) -> None:
    seed_month()
    csp_errors(pages)  # start from an empty log
    pages.open("/admin/")
    pages.log_in("operator", PASSWORD)
    pages.driver.execute_script("localStorage.removeItem('theme')")
    try:
        pages.open("/admin/")
        pages.click_and_load(pages.css("#retention-overview-link"))
        assert pages.driver.current_url == pages.url(OVERVIEW)
        if pages.css("#nav-sidebar").is_displayed():  # the admin remembers it in localStorage
            pages.css("#toggle-nav-sidebar").click()
            pages.wait(lambda d: not pages.css("#nav-sidebar").is_displayed())

        # Backlog and holds, from the latest successful retention run.
        backlog = dict(zip(pages.texts("#backlog th"), pages.texts("#backlog td"), strict=True))
        assert backlog["Sessions due for soft delete"] == "120"
        assert backlog["Sessions on hold"] == "3"
        # The last run of each job on each host: two retention hosts, orphans, sweep.
        jobs = sorted(pages.texts("#latest-runs tbody th"))
        assert jobs == ["orphans", "retention", "retention", "sweep"]

        assert_charts_drawn(pages, "light")
        assert all(not image.is_displayed() for image in chart_images(pages, "dark"))
        full_page_screenshot(pages, "docs/admin-retention-overview.png")

        # The admin's theme toggle (auto -> dark in a light-preferring browser).
        while pages.driver.execute_script("return document.documentElement.dataset.theme") != (
            "dark"
        ):
            pages.css("#header .theme-toggle").click()
        assert_charts_drawn(pages, "dark")
        assert all(not image.is_displayed() for image in chart_images(pages, "light"))

        assert csp_errors(pages) == []
    finally:
        pages.driver.execute_script("localStorage.removeItem('theme')")
