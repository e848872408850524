"""Reading cleanup run records: the latest run of each job on each host, and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models.expressions import RawSQL

from retention.models import CleanupRun


def latest_runs() -> list[CleanupRun]:
    """The most recent run of each job on each host, newest first, in one query.

    The (job, host) pairs are walked as a loose index scan over ``cleanup_runs_last_idx``: a
    recursive query jumps from one pair to the next (the next host of the job, else the first
    host of the next job: two index seeks, where SQLite would scan on a row-value comparison),
    then takes each pair's newest run. It reads a few index entries per pair however many runs
    each pair has (a ``GROUP BY`` or ``DISTINCT ON`` reads every row: seconds on a year of sweep
    records).
    """
    return list(
        CleanupRun.objects.filter(pk__in=RawSQL(_LATEST_RUN_IDS, ())).order_by("-started_at")
    )


_TABLE = CleanupRun._meta.db_table
_LATEST_RUN_IDS = f"""
WITH RECURSIVE pairs(job, host) AS (
    SELECT job, host FROM (
        SELECT job, host FROM {_TABLE} ORDER BY job, host LIMIT 1
    ) AS first_pair
    UNION ALL
    SELECT next_run.job, next_run.host
    FROM pairs JOIN {_TABLE} AS next_run ON next_run.id = COALESCE(
        (
            SELECT run.id FROM {_TABLE} AS run
            WHERE run.job = pairs.job AND run.host > pairs.host ORDER BY run.host LIMIT 1
        ),
        (
            SELECT run.id FROM {_TABLE} AS run
            WHERE run.job > pairs.job ORDER BY run.job, run.host LIMIT 1
        )
    )
)
SELECT (
    SELECT run.id FROM {_TABLE} AS run
    WHERE run.job = pairs.job AND run.host = pairs.host
    ORDER BY run.started_at DESC, run.finished_at DESC LIMIT 1
) FROM pairs
"""


@dataclass(frozen=True)
class Problem:
    job: str
    reason: str


def health_problems(
    runs: list[CleanupRun], *, now: datetime, retention_interval: timedelta
) -> list[Problem]:
    """What is wrong with the latest runs, for ``cleanup_status``'s exit code.

    The latest retention run (on any host) must not have failed, and the latest successful one
    must have started within twice the retention interval. Sweeps are judged on outcome only:
    an idle sweep leaves no record, so an old sweep record is no sign of trouble.
    """
    problems: list[Problem] = []
    latest_by_job: dict[str, CleanupRun] = {}
    for run in runs:
        if run.job not in latest_by_job or run.started_at > latest_by_job[run.job].started_at:
            latest_by_job[run.job] = run
    retention = latest_by_job.get("retention")
    # "Finished" means a run that completed: an interrupted run (SIGTERM mid-way) is no proof
    # that retention keeps up, so the age is judged by the latest successful run on any host,
    # which may be older than every host's latest run (hence a query, not ``runs``).
    finished = (
        CleanupRun.objects.filter(job="retention", outcome=CleanupRun.Outcome.SUCCESS)
        .order_by("-started_at")
        .first()
    )
    if retention is None:
        problems.append(Problem("retention", "no retention run recorded"))
    elif finished is None:
        problems.append(Problem("retention", "no retention run has finished successfully"))
    elif now - finished.started_at > 2 * retention_interval:
        problems.append(
            Problem(
                "retention",
                f"last successful run started {finished.started_at:%Y-%m-%d %H:%M:%S} UTC, "
                f"more than twice the interval ({retention_interval}) ago",
            )
        )
    for job, run in sorted(latest_by_job.items()):
        if run.outcome == CleanupRun.Outcome.FAILED:
            problems.append(Problem(job, f"last run on {run.host} failed: {run.error}"))
    return problems
