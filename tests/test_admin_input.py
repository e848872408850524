"""Admin input no database can store (a NUL character) or that does not decode: 400 or 404,
never a 500. On PostgreSQL a NUL reaching a query is a DataError; the middleware answers first.
Through Django's test client as a staff user, on the database of this test run.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from tests.factories import make_session

LIST = "/admin/alert_sessions/alertsession/"


@pytest.fixture
def staff(db: None) -> Client:
    user = User.objects.create_superuser("operator", "ops@example.com", "a-long-passphrase")
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "path",
    [
        f"{LIST}a%00b/change/",
        f"{LIST}a%00b/history/",
        f"{LIST}a%00b/delete/",
        "/admin/a%00b/",
    ],
)
def test_nul_in_the_path_is_404(staff: Client, path: str) -> None:
    assert staff.get(path).status_code == 404


@pytest.mark.parametrize(
    "query",
    ["status=a%00b", "state=a%00b", "q=a%00b", "a%00b=1", "session_id=a%00b"],
)
def test_nul_in_the_query_string_is_400(staff: Client, query: str) -> None:
    assert staff.get(f"{LIST}?{query}").status_code == 400


@pytest.mark.parametrize("action", ["restore_selected", "soft_delete_selected"])
def test_nul_in_an_action_post_is_400_and_changes_nothing(staff: Client, action: str) -> None:
    session = make_session(deleted_at=timezone.now())
    response = staff.post(
        LIST, {"action": action, "_selected_action": [session.pk, "a\x00b"], "index": "0"}
    )
    assert response.status_code == 400
    session.refresh_from_db()
    assert session.deleted_at is not None


def test_nul_in_a_cookie_is_400(db: None) -> None:
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "a\x00b"
    assert client.get("/admin/login/").status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        f"{LIST}?status=%ff%fe",
        f"{LIST}?%ff=1",
        f"{LIST}%ff%fe/change/",
        f"{LIST}%ed%a0%80/history/",
    ],
)
def test_undecodable_input_is_never_a_500(staff: Client, path: str) -> None:
    assert staff.get(path).status_code in {200, 302, 400, 404}


def test_ordinary_requests_still_work(staff: Client) -> None:
    session = make_session()
    assert staff.get(f"{LIST}?status=completed").status_code == 200
    assert staff.get(f"{LIST}{session.pk}/change/").status_code == 200
    assert staff.get(f"{LIST}{session.pk}/history/").status_code == 200
