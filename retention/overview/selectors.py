"""What the overview shows, read in a bounded number of queries whatever the table's size.

The charts' numbers are one ``GROUP BY day, job`` over the last 30 days of run records
(through ``cleanup_runs_started_idx``), summing the JSON counts in SQL; the backlog is read
from one record. Python only fills in days without runs and adds up at most 30 rows per job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Avg, BigIntegerField, Count, Max, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from retention.models import CleanupRun
from retention.overview.counts import BACKLOG, BACKLOG_JOB, CLEANED
from retention.overview.expressions import Day, SecondsBetween

DAYS = 30


@dataclass(frozen=True)
class JobDay:
    """One job's runs on one day: how many, how many failed, how long, what they cleaned."""

    day: date
    job: str
    runs: int
    failed: int
    avg_duration: timedelta
    max_duration: timedelta
    cleaned: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Activity:
    """The last ``len(days)`` days (oldest first) and each job's totals on each of them."""

    days: list[date]
    job_days: list[JobDay]

    @property
    def jobs(self) -> list[str]:
        """The jobs that ran, the known ones in their run order, then any other by name."""
        known = list(dict.fromkeys(count.job for count in CLEANED))
        seen = {row.job for row in self.job_days}
        return [job for job in known if job in seen] + sorted(seen - set(known))

    def per_day(self, job: str, value: str) -> list[int | timedelta | None]:
        """``value`` (a ``JobDay`` attribute or a cleaned key) of ``job`` on each day; None
        on a day without a run of it."""
        by_day = {row.day: row for row in self.job_days if row.job == job}
        return [_value(by_day.get(day), value) for day in self.days]

    def total(self, job: str, value: str) -> int:
        """The sum of an integer ``value`` of ``job`` over the days."""
        return sum(v for v in self.per_day(job, value) if isinstance(v, int))

    def longest(self, job: str) -> timedelta | None:
        durations = [row.max_duration for row in self.job_days if row.job == job]
        return max(durations, default=None)


def _value(row: JobDay | None, value: str) -> int | timedelta | None:
    if row is None:
        return None
    if hasattr(row, value):
        return getattr(row, value)
    return row.cleaned.get(value, 0)


def daily_activity(*, today: date, days: int = DAYS) -> Activity:
    """Each job's runs, failures, durations and cleaned counts per day, ``today`` included."""
    first = today - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(first, time.min))
    duration = SecondsBetween("started_at", "finished_at")
    sums = {
        f"cleaned_{count.key}": Sum(
            Cast(KT(f"counts__{count.key}"), BigIntegerField()), filter=Q(job=count.job)
        )
        for count in CLEANED
    }
    rows = (
        CleanupRun.objects.filter(started_at__gte=since)
        .annotate(day=Day("started_at"))
        .values("day", "job")
        .annotate(
            runs=Count("id"),
            failed=Count("id", filter=Q(outcome=CleanupRun.Outcome.FAILED)),
            avg_duration=Avg(duration),
            max_duration=Max(duration),
            **sums,
        )
        .order_by("day", "job")
    )
    job_days = [_job_day(row) for row in rows]
    return Activity([first + timedelta(days=i) for i in range(days)], job_days)


def _job_day(row: dict) -> JobDay:
    cleaned = {
        count.key: row[f"cleaned_{count.key}"] or 0 for count in CLEANED if count.job == row["job"]
    }
    return JobDay(
        day=row["day"],
        job=row["job"],
        runs=row["runs"],
        failed=row["failed"],
        avg_duration=_duration(row["avg_duration"]),
        max_duration=_duration(row["max_duration"]),
        cleaned=cleaned,
    )


def _duration(seconds: float) -> timedelta:
    """To the millisecond: what a run record's duration is shown to, and what floating-point
    seconds keep exactly."""
    return timedelta(milliseconds=round(seconds * 1000))


@dataclass(frozen=True)
class Backlog:
    """What the latest successful retention run measured: (label, value) pairs, or None for
    each measurement it did not take (a run from before the ``backlog`` step existed)."""

    run: CleanupRun
    values: list[tuple[str, int | None]]

    @property
    def measured(self) -> bool:
        return any(value is not None for _, value in self.values)


def latest_backlog() -> Backlog | None:
    """The backlog as the latest successful retention run left it; None before any."""
    run = (
        CleanupRun.objects.filter(job=BACKLOG_JOB, outcome=CleanupRun.Outcome.SUCCESS)
        .order_by("-started_at")
        .first()
    )
    if run is None:
        return None
    return Backlog(run, [(label, run.counts.get(key)) for key, label in BACKLOG])
