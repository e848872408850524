"""The overview on a year of run records: fast, and a bounded number of queries.

Records expire after 30 days, but a broken retention job keeps them: the page must stay fast
on a year of them. One retention run per 12 h on each of three hosts and one recorded sweep a
minute (about 528,000 rows), inserted by one SQL statement per job, then analysed as
autovacuum would. Each response (the page, each chart) is timed best of three and must take
under a second; the timings are printed (``-s``) for the record.
"""

from __future__ import annotations

import time
from datetime import UTC

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from retention.models import CleanupRun
from retention.overview.charts import CHARTS
from tests.retention.test_overview import PAGE, chart_url, client_for, first_instant, staff

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

SWEEPS = 365 * 24 * 60
RETENTION_RUNS_PER_HOST = 2 * 365
HOSTS = ("pod-a", "pod-b", "pod-c")
BUDGET_SECONDS = 1.0

# One INSERT ... SELECT per job: a series of i = 0..last, one row per i and host, started
# i * step minutes before now. The fragments that differ between the two backends:
_SQL = {
    "postgresql": {
        "with": "",
        "series": "generate_series(0, %(last)s) AS s(i)",
        "started": "%(now)s - s.i * make_interval(mins => %(step)s)",
        "finished": "%(now)s - s.i * make_interval(mins => %(step)s) + interval '40 ms'",
        "json": "jsonb_build_object",
    },
    "sqlite": {
        "with": "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s "
        "WHERE i < %(last)s)",
        "series": "s",
        "started": "strftime('%%Y-%%m-%%d %%H:%%M:%%f', %(now)s, "
        "'-' || (s.i * %(step)s) || ' minutes')",
        "finished": "strftime('%%Y-%%m-%%d %%H:%%M:%%f', %(now)s, "
        "'-' || (s.i * %(step)s) || ' minutes', '+0.040 seconds')",
        "json": "json_object",
    },
}
_INSERT = """{with}
INSERT INTO cleanup_runs (job, host, started_at, finished_at, outcome, counts, error,
    failed_steps)
SELECT %(job)s, h.name, {started}, {finished},
       CASE WHEN s.i %% 97 = 0 THEN 'failed' ELSE 'success' END, {json}({counts}), '', '[]'
FROM {series} CROSS JOIN ({hosts}) AS h
"""


def insert_runs(job: str, *, step_minutes: int, runs: int, hosts: int, counts: str) -> None:
    """``runs`` records of ``job`` on each of the first ``hosts`` hosts, ``step_minutes``
    apart back from now; ``counts`` is the JSON object's keys and values in SQL."""
    sql = _SQL[connection.vendor]
    names = " UNION ALL ".join(f"SELECT '{host}' AS name" for host in HOSTS[:hosts])
    statement = _INSERT.format(counts=counts, hosts=names, **sql)
    now = timezone.now()
    if connection.vendor == "sqlite":  # how Django stores a datetime there: naive UTC text
        now = now.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    params = {"job": job, "now": now, "step": step_minutes, "last": runs - 1}
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def seed_a_year() -> None:
    insert_runs(
        "sweep", step_minutes=1, runs=SWEEPS, hosts=1,
        counts="'deleted', s.i %% 3, 'bytes_freed', 100, 'skipped_active', 0, "
        "'kept_young', 4, 'errors', 0",
    )  # fmt: skip
    insert_runs(
        "retention", step_minutes=12 * 60, runs=RETENTION_RUNS_PER_HOST, hosts=len(HOSTS),
        counts="'soft_deleted', s.i %% 50, 'events_expired', s.i * 3, 'purged', 0, "
        "'runs_expired', 1, 'backlog_due_for_soft_delete', 12, 'backlog_sessions_held', 2",
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cleanup_runs")


def timed(client: Client, url: str) -> tuple[float, int]:
    """Best of three: seconds for the response, and the queries it made."""
    best = float("inf")
    for _ in range(3):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get(url)
            best = min(best, time.perf_counter() - start)
        assert response.status_code == 200, url
    return best, len(ctx.captured_queries)


def test_a_year_of_records_loads_in_well_under_a_second() -> None:
    seed_a_year()
    assert CleanupRun.objects.count() == SWEEPS + RETENTION_RUNS_PER_HOST * len(HOSTS)
    client = client_for(staff("viewer", "view_cleanuprun"))
    results = {url: timed(client, url) for url in (PAGE, *(chart_url(n) for n in CHARTS))}
    print(f"\noverview on {CleanupRun.objects.count()} records ({connection.vendor}):")
    for url, (seconds, queries) in results.items():
        print(f"  {url}: {seconds * 1000:.0f} ms, {queries} queries")
    assert results[PAGE][1] == 7
    assert all(queries == 5 for url, (_, queries) in results.items() if url != PAGE)
    slow = {url: s for url, (s, _) in results.items() if s >= BUDGET_SECONDS}
    assert not slow, slow
    # The numbers are the year's last 30 days only.
    page = client.get(PAGE)
    runs = {job: runs for job, runs, _, _ in page.context["job_totals"]}
    in_window = CleanupRun.objects.filter(started_at__gte=first_instant())
    assert runs == {job: in_window.filter(job=job).count() for job in ("retention", "sweep")}
    assert 29 * 24 * 60 < runs["sweep"] <= 30 * 24 * 60
    assert [run.host for run, _ in page.context["latest_runs"]].count("pod-a") == 2
