"""The retention job's backlog step: what the next run faces, measured on the job's thread."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from retention.config import RetentionConfig
from retention.metrics.definitions import CleanupMetrics
from retention.metrics.listener import MetricsListener
from retention.registry import Interrupted, StepRun
from retention.runner import JobRunner
from sessions.backlog import estimated_count, retention_backlog
from sessions.models import Event, SessionStatus
from sessions.selectors import events_due_for_expiry
from tarsy_project.config import TarsyConfig
from tests.factories import make_session
from tests.retention.conftest import job_for, seed_backlog

pytestmark = pytest.mark.django_db(transaction=True)

RULES = RetentionConfig(
    session_retention_days=30,
    event_ttl=timedelta(hours=1),
    cleanup_interval=timedelta(minutes=10),
    purge_after_days=7,
)


def test_the_backlog_counts_what_a_run_at_the_given_time_would_change() -> None:
    now = timezone.now()
    at = now + RULES.cleanup_interval
    for age in (timedelta(days=40), timedelta(days=30, minutes=-5)):  # the second: due by `at`
        make_session(age=age, now=now)
    make_session(age=timedelta(days=30, minutes=-20), now=now)  # due a minute after `at`, not by it
    make_session(status=SessionStatus.PENDING, age=timedelta(days=31), now=now)
    make_session(status=SessionStatus.IN_PROGRESS, age=timedelta(days=400), now=now)  # never
    for deleted_days_ago in (10, 7 - 0.005, 6):  # 7 days less about 7 minutes: due by `at`
        make_session(age=timedelta(days=100), now=now, deleted_at=now - timedelta(deleted_days_ago))
    owner = make_session(now=now)
    for age in (timedelta(hours=2), timedelta(minutes=55), timedelta(minutes=30)):
        Event.objects.create(session=owner, channel="c", created_at=now - age)

    assert retention_backlog(at=at, retention=RULES) == {
        "backlog_due_for_soft_delete": 3,
        "backlog_due_for_purge": 2,
        "backlog_events_past_ttl": 2,
        "backlog_sessions_held": 0,
    }
    without_purge = RetentionConfig(session_retention_days=30, purge_after_days=None)
    assert retention_backlog(at=at, retention=without_purge)["backlog_due_for_purge"] == 0


def test_a_count_past_the_exact_limit_is_exact_on_sqlite_and_estimated_on_postgresql() -> None:
    seed_backlog(old_sessions=0, young_sessions=0, old_events=300, young_events=0)
    rows = events_due_for_expiry(timezone.now())
    assert estimated_count(rows, exact_up_to=300) == 300  # within the limit: exact everywhere
    if connection.vendor != "postgresql":
        assert estimated_count(rows, exact_up_to=10) == 300
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE events")
    estimate = estimated_count(rows, exact_up_to=10)
    assert 11 <= estimate and abs(estimate - 300) <= 60, estimate


def test_a_dry_run_measures_the_backlog_before_anything_changed() -> None:
    backlog = seed_backlog(old_sessions=6, old_events=4)
    retention = job_for("retention", retention=RetentionConfig(session_retention_days=30))
    listener = MetricsListener(CleanupMetrics())
    listener.jobs_configured(TarsyConfig(), [retention])
    assert JobRunner(retention, dry_run=True, listeners=[listener]).run() == "success"
    gauge = listener.metrics.registry.get_sample_value
    assert gauge("tarsy_ops_backlog_sessions_due_for_soft_delete", {}) == backlog.old_sessions
    # 12h on, the young events are past the 1h TTL too.
    assert gauge("tarsy_ops_backlog_events_past_ttl", {}) == backlog.old_events + 10
    assert gauge("tarsy_ops_backlog_sessions_due_for_purge", {}) == 0
    assert gauge("tarsy_ops_sessions_held", {}) == 0


def test_the_backlog_step_does_not_start_after_a_stop_request() -> None:
    (backlog,) = [s for s in job_for("retention").steps if s.name == "backlog"]
    stopping = StepRun(
        now=timezone.now(), dry_run=False, progress=lambda done: None, stop_requested=lambda: True
    )
    with pytest.raises(Interrupted):
        backlog.perform(stopping)
