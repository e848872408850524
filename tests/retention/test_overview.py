"""The retention overview page and its charts, through Django's test client.

Who may see it; that its numbers are the run records' (recomputed here in Python from the
records, the page and the charts aggregate in SQL); and that its query count does not grow
with the number of runs, jobs or hosts.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from xml.etree import ElementTree

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.db.models.functions import TruncDate
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.csp import CSP

from retention.models import CleanupRun
from retention.overview.charts import CHARTS, THEMES, integer_ticks
from retention.overview.counts import CLEANED, Unit, cleaned
from retention.overview.expressions import Day, SecondsBetween
from retention.overview.selectors import DAYS, daily_activity
from retention.selectors import latest_runs

PAGE = reverse("retention_overview:page")
SVG = "{http://www.w3.org/2000/svg}"
# What the browser test enforces too: nothing inline, nothing from elsewhere.
STRICT_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

pytestmark = pytest.mark.django_db


def chart_url(name: str, theme: str = "light") -> str:
    return reverse("retention_overview:chart", kwargs={"name": name, "theme": theme})


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def staff(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def viewer(db) -> Client:
    """Staff who may view cleanup runs (what the overview needs), nothing more."""
    return client_for(staff("viewer", "view_cleanuprun"))


def record(
    job: str,
    started_at: datetime,
    *,
    host: str = "pod-a",
    seconds: float = 1.0,
    outcome: str = CleanupRun.Outcome.SUCCESS,
    **counts: int,
) -> CleanupRun:
    return CleanupRun.objects.create(
        job=job,
        host=host,
        started_at=started_at,
        finished_at=started_at + timedelta(seconds=seconds),
        outcome=outcome,
        counts=counts,
    )


def window() -> list[date]:
    today = timezone.localdate()
    return [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]


def first_instant() -> datetime:
    return timezone.make_aware(datetime.combine(window()[0], time.min))


@pytest.fixture
def history() -> list[CleanupRun]:
    """A month and more of runs: three jobs, two hosts, failures, and records outside the
    window or with keys that are not cleaned counts."""
    now = timezone.now()
    runs = []
    for day in range(0, 40, 3):
        for host in ("pod-a", "pod-b"):
            at = now - timedelta(days=day, hours=2 if host == "pod-a" else 5)
            runs.append(
                record(
                    "retention", at, host=host, seconds=2 + day,
                    outcome="failed" if day % 9 == 0 else "success",
                    soft_deleted=day * 10, events_expired=day * 100, purged=day % 4,
                    runs_expired=1, backlog_due_for_soft_delete=7, backlog_sessions_held=2,
                )
            )  # fmt: skip
        runs.append(
            record("sweep", now - timedelta(days=day, minutes=7), seconds=0.04,
                   deleted=day % 5, pressure_deleted=day % 2, bytes_freed=99999, errors=0)
        )  # fmt: skip
    runs.append(record("orphans", now - timedelta(days=1), orphans_marked=4))
    runs.append(record("orphans", now - timedelta(days=2), outcome="interrupted", orphans_marked=1))
    # The first instant of the window counts; the one before it does not.
    runs.append(record("retention", first_instant(), soft_deleted=1000))
    runs.append(record("retention", first_instant() - timedelta(microseconds=1), soft_deleted=5000))
    return runs


def expected(job: str, value: str) -> dict[date, int]:
    """``value`` per day, recomputed from the records in Python: a count key summed, or
    ``runs``/``failed`` counted."""
    days = set(window())
    totals: dict[date, int] = defaultdict(int)
    for run in CleanupRun.objects.filter(job=job):
        day = timezone.localdate(run.started_at)
        if day not in days:
            continue
        if value == "runs":
            totals[day] += 1
        elif value == "failed":
            totals[day] += run.outcome == "failed"
        else:
            totals[day] += run.counts.get(value, 0)
    return dict(totals)


# --- who may see it -------------------------------------------------------------------------


@pytest.mark.parametrize("url", [PAGE, chart_url("rows"), chart_url("failures", "dark")])
def test_anonymous_and_non_staff_users_are_sent_to_the_login_page(url) -> None:
    response = Client().get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    not_staff = User.objects.create_user("not-staff")
    not_staff.user_permissions.set(Permission.objects.filter(codename="view_cleanuprun"))
    response = client_for(not_staff).get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("url", [PAGE, chart_url("rows"), chart_url("durations", "dark")])
def test_staff_need_the_view_cleanuprun_permission(url) -> None:
    assert client_for(staff("sessions-only", "view_alertsession")).get(url).status_code == 403
    assert client_for(staff("runs-viewer", "view_cleanuprun")).get(url).status_code == 200
    assert client_for(User.objects.create_superuser("root")).get(url).status_code == 200


def test_the_index_and_the_cleanup_run_list_link_to_it(viewer: Client) -> None:
    link = f'href="{PAGE}"'
    assert link in viewer.get(reverse("admin:index")).content.decode()
    assert link in viewer.get(reverse("admin:retention_cleanuprun_changelist")).content.decode()
    other = client_for(staff("sessions-only", "view_alertsession"))
    assert link not in other.get(reverse("admin:index")).content.decode()


def test_unknown_charts_and_themes_are_not_found(viewer: Client) -> None:
    assert viewer.get(chart_url("rows", "sepia")).status_code == 404
    assert viewer.get(chart_url("bytes", "light")).status_code == 404


# --- the numbers ----------------------------------------------------------------------------


def test_daily_activity_equals_the_run_records(history) -> None:
    activity = daily_activity(today=timezone.localdate())
    assert activity.days == window()
    assert activity.jobs == ["retention", "orphans", "sweep"]
    for count in CLEANED:
        per_day = expected(count.job, count.key)
        got = activity.per_day(count.job, count.key)
        assert {d: v for d, v in zip(activity.days, got, strict=True) if v} == {
            d: v for d, v in per_day.items() if v
        }, count.key
    for job in activity.jobs:
        for value in ("runs", "failed"):
            got = dict(zip(activity.days, activity.per_day(job, value), strict=True))
            assert {d: v for d, v in got.items() if v is not None} == expected(job, value)
    # The window's first instant is in (1000), the microsecond before it is not (5000).
    first_day = activity.per_day("retention", "soft_deleted")[0]
    assert 1000 <= first_day < 5000


def test_durations_are_the_average_and_the_longest_of_each_day() -> None:
    today = timezone.now().replace(hour=12)
    for seconds in (1.0, 2.0, 6.0):
        record("retention", today - timedelta(days=1), seconds=seconds)
    record("retention", today - timedelta(days=3), seconds=0.25)
    activity = daily_activity(today=timezone.localdate())
    avg = dict(zip(activity.days, activity.per_day("retention", "avg_duration"), strict=True))
    longest = dict(zip(activity.days, activity.per_day("retention", "max_duration"), strict=True))
    yesterday, three_ago = window()[-2], window()[-4]
    assert avg[yesterday] == timedelta(seconds=3) and longest[yesterday] == timedelta(seconds=6)
    assert avg[three_ago] == longest[three_ago] == timedelta(seconds=0.25)
    assert avg[window()[-1]] is None
    assert activity.longest("retention") == timedelta(seconds=6)


def test_the_page_shows_the_totals_of_the_records(viewer: Client, history) -> None:
    response = viewer.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    for count, total in response.context["cleaned_totals"]:
        assert total == sum(expected(count.job, count.key).values())
        assert re.search(rf">{re.escape(count.label)}</th><td class=\"number\">{total}<", html)
    rows = {job: (runs, failed) for job, runs, failed, _ in response.context["job_totals"]}
    assert rows == {
        job: (sum(expected(job, "runs").values()), sum(expected(job, "failed").values()))
        for job in ("retention", "orphans", "sweep")
    }
    # Keys that are measurements or bytes are no cleaned count.
    assert "backlog_due_for_soft_delete" not in {
        c.key for c, _ in response.context["cleaned_totals"]
    }
    assert "bytes_freed" not in {c.key for c, _ in response.context["cleaned_totals"]}


def test_the_page_lists_the_last_run_of_each_job_on_each_host(viewer: Client, history) -> None:
    response = viewer.get(PAGE)
    shown = [run for run, _ in response.context["latest_runs"]]
    newest: dict[tuple[str, str], CleanupRun] = {}
    for run in CleanupRun.objects.order_by("started_at"):
        newest[(run.job, run.host)] = run
    assert sorted(r.pk for r in shown) == sorted(r.pk for r in newest.values())
    assert [r.started_at for r in shown] == sorted((r.started_at for r in shown), reverse=True)
    html = response.content.decode()
    for run in shown:
        assert reverse("admin:retention_cleanuprun_change", args=[run.pk]) in html
    durations = [duration for _, duration in response.context["latest_runs"]]
    assert "40 ms" in durations and any(d.endswith(" s") for d in durations), durations


def test_latest_runs_breaks_a_tie_by_the_later_finish() -> None:
    at = timezone.now()
    record("sweep", at, seconds=1)
    later = record("sweep", at, seconds=5)
    record("sweep", at - timedelta(hours=1), seconds=60)
    other_host = record("sweep", at - timedelta(hours=2), host="pod-z")
    assert [r.pk for r in latest_runs()] == [later.pk, other_host.pk]


def chart_values(svg: bytes) -> dict[str, dict[str, float]]:
    """Series label -> x label -> value, read back from a pygal bar chart's SVG."""
    root = ElementTree.fromstring(svg)
    legends = {
        int(group.get("id").rpartition("-")[2]): group.find(f"{SVG}text").text
        for group in root.iter(f"{SVG}g")
        if (group.get("id") or "").startswith("activate-serie-")
    }
    found: dict[str, dict[str, float]] = {}
    for group in root.iter(f"{SVG}g"):
        match = re.fullmatch(r"series serie-(\d+) color-\d+", group.get("class") or "")
        if not match or not list(group.iter(f"{SVG}rect")):
            continue
        values = {}
        for bar in group.iter(f"{SVG}g"):
            descs = {d.get("class"): d.text for d in bar.iter(f"{SVG}desc")}
            if "value" in descs:
                values[descs["x_label"]] = float(descs["value"])
        found[legends[int(match.group(1))]] = values
    return found


def per_label(per_day: dict[date, int]) -> dict[str, float]:
    return {f"{day:%m-%d}": float(v) for day, v in per_day.items() if v}


@pytest.mark.parametrize("unit,name", [(Unit.ROWS, "rows"), (Unit.FILES, "files")])
def test_the_cleaned_charts_draw_the_records(viewer: Client, history, unit, name) -> None:
    for theme in THEMES:
        drawn = chart_values(viewer.get(chart_url(name, theme)).content)
        assert set(drawn) == {count.label for count in cleaned(unit)}
        for count in cleaned(unit):
            bars = {label: v for label, v in drawn[count.label].items() if v}
            assert bars == per_label(expected(count.job, count.key)), count.key


def test_the_failures_chart_draws_the_failed_runs(viewer: Client, history) -> None:
    drawn = chart_values(viewer.get(chart_url("failures", "dark")).content)
    assert set(drawn) == {"retention", "orphans", "sweep"}
    for job, bars in drawn.items():
        assert {label: v for label, v in bars.items() if v} == per_label(expected(job, "failed"))
    assert any(drawn["retention"].values())  # the seeded failures are there


def test_charts_are_private_svg_images_without_script(viewer: Client, history) -> None:
    for name in CHARTS:
        for theme in THEMES:
            response = viewer.get(chart_url(name, theme))
            assert response.status_code == 200
            assert response["Content-Type"] == "image/svg+xml"
            cache = set(re.split(r",\s*", response["Cache-Control"]))
            assert "private" in cache and "public" not in cache
            svg = response.content.decode()
            root = ElementTree.fromstring(svg)  # well-formed, no XML declaration needed
            assert not svg.startswith("<?xml")
            assert root.tag == f"{SVG}svg" and root.get("width") and root.get("height")
            assert "<script" not in svg and "javascript" not in svg.lower()
            assert not re.search(r"(?:href|src)=\"(?:https?:)?//", svg), "nothing fetched"
            assert root.find(f"{SVG}title").text == CHARTS[name].title
    light = viewer.get(chart_url("rows", "light")).content.decode()
    dark = viewer.get(chart_url("rows", "dark")).content.decode()
    assert "#333333" in light and "#eeeeee" in dark  # text colour per theme


def test_charts_with_nothing_to_draw_say_so(viewer: Client) -> None:
    texts = {name: chart.empty for name, chart in CHARTS.items()}
    for name in CHARTS:
        assert texts[name] in viewer.get(chart_url(name)).content.decode(), name
    record("retention", timezone.now(), soft_deleted=0)  # ran, cleaned nothing, did not fail
    for name in ("rows", "files", "failures"):
        assert texts[name] in viewer.get(chart_url(name)).content.decode(), name
    assert texts["durations"] not in viewer.get(chart_url("durations")).content.decode()


def test_integer_ticks() -> None:
    assert integer_ticks(0) == [0, 1]
    assert integer_ticks(3) == [0, 1, 2, 3]
    assert integer_ticks(10) == [0, 2, 4, 6, 8, 10]
    assert integer_ticks(11) == [0, 5, 10, 15]
    assert integer_ticks(1234) == [0, 500, 1000, 1500]


# --- backlog and holds ----------------------------------------------------------------------


def backlog_rows(client: Client) -> dict[str, str]:
    html = client.get(PAGE).content.decode()
    section = html[html.index('id="backlog"') : html.index('id="last-days"')]
    cells = re.findall(r'<th scope="row">([^<]+)</th><td class="number">([^<]+)</td>', section)
    if not cells:
        assert "Not measured yet" in section
    return dict(cells)


def test_the_backlog_is_not_measured_before_a_run_measures_it(viewer: Client) -> None:
    assert backlog_rows(viewer) == {}
    record("retention", timezone.now(), soft_deleted=3)  # a run from before the backlog step
    assert backlog_rows(viewer) == {}


def test_the_backlog_is_the_latest_successful_retention_runs(viewer: Client) -> None:
    now = timezone.now()
    record(
        "retention", now - timedelta(hours=3), backlog_due_for_soft_delete=50,
        backlog_due_for_purge=0, backlog_events_past_ttl=1200, backlog_sessions_held=4,
    )  # fmt: skip
    record("retention", now - timedelta(hours=2), host="pod-b", backlog_due_for_soft_delete=9)
    record("retention", now - timedelta(hours=1), outcome="failed", backlog_due_for_soft_delete=1)
    record("sweep", now, deleted=3)
    assert backlog_rows(viewer) == {
        "Sessions due for soft delete": "9",
        "Sessions due for purge": "not measured",
        "Events past their TTL": "not measured",
        "Sessions on hold": "not measured",
    }
    assert "pod-b" in viewer.get(PAGE).content.decode()


# --- bounded queries ------------------------------------------------------------------------


def queries(client: Client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


def seed(runs: int, hosts: int) -> None:
    now = timezone.now()
    CleanupRun.objects.bulk_create(
        CleanupRun(
            job=("retention", "orphans", "sweep")[i % 3],
            host=f"pod-{i % hosts}",
            started_at=now - timedelta(minutes=17 * i),
            finished_at=now - timedelta(minutes=17 * i) + timedelta(seconds=1),
            outcome="failed" if i % 7 == 0 else "success",
            counts={"soft_deleted": i, "deleted": 1, "orphans_marked": 2},
        )
        for i in range(runs)
    )


def test_queries_do_not_grow_with_runs_jobs_or_hosts(viewer: Client) -> None:
    urls = [PAGE, *(chart_url(name) for name in CHARTS)]
    seed(6, hosts=1)
    small = {url: queries(viewer, url) for url in urls}
    seed(3000, hosts=40)
    large = {url: queries(viewer, url) for url in urls}
    for url in urls:
        assert len(large[url]) == len(small[url]), url
    # The login session, the user, the user's and groups' permissions; then the run records.
    assert len(large[PAGE]) == 7, "\n".join(large[PAGE])
    assert all(len(large[url]) == 5 for url in urls[1:]), large
    # Each table is read a bounded number of times: the aggregate, the latest runs, the backlog.
    on_runs = [sql for sql in large[PAGE] if "cleanup_runs" in sql]
    assert len(on_runs) == 3, on_runs
    pairs = set(CleanupRun.objects.values_list("job", "host"))
    assert len(pairs) == 120 and {(r.job, r.host) for r in latest_runs()} == pairs


def test_latest_runs_is_one_query_however_many_pairs() -> None:
    seed(200, hosts=25)
    with CaptureQueriesContext(connection) as ctx:
        runs = latest_runs()
    assert len(ctx.captured_queries) == 1
    assert len({(r.job, r.host) for r in runs}) == len(runs) == 75


# --- Content-Security-Policy ----------------------------------------------------------------


def test_under_a_strict_policy_charts_carry_their_own(viewer: Client, settings, history) -> None:
    settings.SECURE_CSP = STRICT_CSP
    page = viewer.get(PAGE)
    assert "'unsafe-inline'" not in page["Content-Security-Policy"]
    assert "default-src 'self'" in page["Content-Security-Policy"]
    html = page.content.decode()
    assert "<script>" not in html and " style=" not in html
    chart = viewer.get(chart_url("rows"))
    assert chart["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"


# --- the SQL expressions --------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/New_York"])
def test_day_is_truncdate_in_any_time_zone(zone) -> None:
    """``Day`` takes a shortcut on SQLite in UTC; in every zone it agrees with ``TruncDate``."""
    midnight = timezone.make_aware(datetime(2026, 3, 10), timezone.get_fixed_timezone(0))
    for offset in (-1, 0, 1, 60 * 14, 60 * 20):
        record("sweep", midnight + timedelta(minutes=offset, microseconds=offset % 7))
    with timezone.override(zone):
        days = CleanupRun.objects.annotate(day=Day("started_at"), truncated=TruncDate("started_at"))
        pairs = list(days.values_list("day", "truncated"))
    assert pairs and all(day == truncated for day, truncated in pairs), pairs
    assert len({day for day, _ in pairs}) == 2


def test_seconds_between_is_the_duration_to_the_millisecond() -> None:
    record("sweep", timezone.now(), seconds=0.040)
    record("sweep", timezone.now(), seconds=3725.5)
    seconds = CleanupRun.objects.annotate(s=SecondsBetween("started_at", "finished_at"))
    assert sorted(round(s, 3) for s in seconds.values_list("s", flat=True)) == [0.04, 3725.5]
