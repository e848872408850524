"""The cleanup run list in the admin: read-only, filterable by host, bounded however long the
history is."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from retention.models import CleanupRun

CHANGELIST = "/admin/retention/cleanuprun/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer() -> Client:
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_cleanuprun"))
    client = Client()
    client.force_login(user)
    return client


def add_runs(count: int, *, hosts: tuple[str, ...] = ("pod-a", "pod-b")) -> None:
    start = timezone.now() - timedelta(days=10)
    CleanupRun.objects.bulk_create(
        CleanupRun(
            job="sweep" if i % 3 else "retention",
            host=hosts[i % len(hosts)],
            started_at=start + timedelta(minutes=i),
            finished_at=start + timedelta(minutes=i, seconds=2),
            outcome="success",
            counts={"deleted": i},
        )
        for i in range(count)
    )


def list_queries(client: Client, query: str = "") -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST + query)
    assert response.status_code == 200
    return [q["sql"] for q in queries.captured_queries if "cleanup_runs" in q["sql"]]


def test_no_query_of_the_list_reads_the_whole_history(viewer) -> None:
    """Every read of the run records is bounded (LIMIT): the page, the capped count, the
    hosts of the latest runs; no COUNT(*) or SELECT DISTINCT over every record."""
    add_runs(10)
    few = list_queries(viewer)
    add_runs(3000)
    many = list_queries(viewer)
    assert len(many) == len(few)
    assert many and all("LIMIT" in sql.upper() for sql in many), many


def test_the_host_filter_offers_each_host_once_and_narrows_the_list(viewer) -> None:
    add_runs(30, hosts=("pod-a", "pod-b", "pod-c"))
    page = viewer.get(CHANGELIST).content.decode()
    for host in ("pod-a", "pod-b", "pod-c"):
        assert page.count(f"?host={host}") == 1
    narrowed = viewer.get(CHANGELIST + "?host=pod-b")
    assert {run.host for run in narrowed.context["cl"].result_list} == {"pod-b"}
    assert narrowed.context["cl"].result_count == 10


def test_runs_cannot_be_added_changed_or_deleted(viewer) -> None:
    add_runs(1)
    run = CleanupRun.objects.get()
    assert viewer.get(CHANGELIST + "add/").status_code == 403
    assert viewer.post(f"{CHANGELIST}{run.pk}/delete/").status_code == 403
    assert viewer.get(f"{CHANGELIST}{run.pk}/change/").context["has_change_permission"] is False
