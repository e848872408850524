"""Holds in the admin: the hold and release actions, their audit, the column, filters and page,
the restore hold's message, and the "due at the next run" previews."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from sessions.admin.config import tarsy_config
from sessions.models import AlertSession, SessionHold
from sessions.services import holds
from tests.factories import make_session
from tests.sessions.test_admin import (
    CHANGELIST,
    _action_names,
    _changelist_queries,
    _client,
    _listed,
    _messages,
    _post_action,
    _staff,
    change_url,
)

HOLDS_LIST = reverse("admin:alert_sessions_sessionhold_changelist")
FAR_DAY = "2099-01-05"
FAR_END = datetime(2099, 1, 5, tzinfo=UTC)


@pytest.fixture
def holder_client(db) -> Client:
    return _client(
        _staff("holder", "view_alertsession", "hold_alertsession", "restore_alertsession")
    )


@pytest.fixture
def superuser_client(db) -> Client:
    return _client(User.objects.create_superuser("root"))


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    """A tarsy.yaml the admin reads (retention 30 days, purge after 7), read afresh."""
    path = tmp_path / "tarsy.yaml"
    path.write_text(
        "system:\n  retention:\n    session_retention_days: 30\n    purge_after_days: 7\n"
        "    restore_hold_days: 10\n",
        encoding="utf-8",
    )
    tarsy_config.cache_clear()
    with override_settings(TARSY_CONFIG=str(path)):
        yield path
    tarsy_config.cache_clear()


def _hold(client: Client, ids: list[str], **fields: str):
    return _post_action(client, "hold_selected", ids, post="yes", **fields)


# -- the hold and release actions ------------------------------------------------------------


def test_hold_asks_until_when_and_why_then_holds_and_audits(holder_client):
    a, b = make_session(), make_session()
    page = _post_action(holder_client, "hold_selected", [a.pk, b.pk])
    assert page.status_code == 200
    assert page.templates[0].name == "admin/alert_sessions/alertsession/hold_form.html"
    html = page.content.decode()
    assert a.pk in html and b.pk in html and 'name="reason"' in html
    assert not SessionHold.objects.exists()  # asking changes nothing

    response = _hold(holder_client, [a.pk, b.pk], until=FAR_DAY, reason="INC-42 under review")
    assert response.status_code == 200
    text = " ".join(_messages(response))
    assert "Held 2 sessions" in text
    kept = next(m for m in _messages(response) if m.startswith("Kept from retention"))
    assert kept.startswith("Kept from retention until 2099-01-05 00:00 UTC: ")
    assert a.pk in kept and b.pk in kept
    for session in (a, b):
        hold = SessionHold.objects.get(session_id=session.pk)
        assert (hold.placed_by, hold.reason, hold.until) == (
            "holder",
            "INC-42 under review",
            FAR_END,
        )
        entry = LogEntry.objects.get(object_id=session.pk)
        assert (entry.user.username, entry.action_flag, entry.change_message) == (
            "holder",
            CHANGE,
            "Held until 2099-01-05 00:00 UTC: INC-42 under review",
        )
        assert timezone.now() - entry.action_time < timedelta(minutes=1)


def test_hold_with_no_end_and_a_second_hold_is_nothing_to_do(holder_client):
    session = make_session()
    _hold(holder_client, [session.pk], no_end="on", reason="legal hold")
    response = _hold(holder_client, [session.pk], until=FAR_DAY, reason="again")
    text = " ".join(_messages(response))
    assert f"1 session was already held as long (nothing to do): {session.pk}" in text
    assert f"Kept from retention with no end: {session.pk}" in text
    assert SessionHold.objects.count() == 1
    assert LogEntry.objects.get().change_message == "Held with no end: legal hold"


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"reason": "r"}, "Give a day the hold ends, or tick No end (not both)."),
        ({"reason": "r", "until": FAR_DAY, "no_end": "on"}, "Give a day the hold ends"),
        ({"reason": "r", "until": "2001-01-01"}, "The hold must end after today."),
        ({"until": FAR_DAY}, "This field is required."),
        ({"reason": "r", "until": "soon"}, "Enter a valid date."),
    ],
)
def test_a_bad_hold_form_is_shown_again_and_changes_nothing(holder_client, fields, error):
    session = make_session()
    response = _hold(holder_client, [session.pk], **fields)
    assert response.templates[0].name == "admin/alert_sessions/alertsession/hold_form.html"
    assert error in response.content.decode()
    assert not SessionHold.objects.exists() and not LogEntry.objects.exists()


def test_release_ends_the_holds_and_audits(holder_client):
    held, free = make_session(), make_session()
    _hold(holder_client, [held.pk], no_end="on", reason="r")
    response = _post_action(holder_client, "release_selected", [held.pk, free.pk])
    text = " ".join(_messages(response))
    assert f"Released 1 session: {held.pk}" in text
    assert f"1 session was not held (nothing to do): {free.pk}" in text
    assert SessionHold.objects.get().released_by == "holder"
    assert not AlertSession.all_objects.held().exists()
    assert [e.change_message for e in LogEntry.objects.filter(object_id=held.pk)] == [
        "Hold released",
        "Held with no end: r",
    ]


def test_hold_needs_its_permission(db):
    session = make_session()
    client = _client(_staff("viewer2", "view_alertsession", "restore_alertsession"))
    assert not {"hold_selected", "release_selected"} & _action_names(client.get(CHANGELIST))
    _hold(client, [session.pk], no_end="on", reason="r")
    assert not SessionHold.objects.exists()
    holder = _client(_staff("h", "view_alertsession", "hold_alertsession"))
    assert _action_names(holder.get(CHANGELIST)) == {"hold_selected", "release_selected"}


def test_hold_from_the_session_page(holder_client):
    session = make_session()
    page = holder_client.get(change_url(session.pk)).content.decode()
    assert "Hold this session" in page
    response = holder_client.post(
        change_url(session.pk),
        {"CHANGE_FORM-action": "hold_selected", "_selected_action": session.pk},
    )
    assert response.status_code == 200 and f'action="{CHANGELIST}"' in response.content.decode()
    _hold(holder_client, [session.pk], no_end="on", reason="from the page")
    assert SessionHold.objects.get().reason == "from the page"


# -- what the list and the page show -------------------------------------------------------------


def test_hold_column_held_filter_and_no_query_per_row(holder_client):
    def held_sessions(count: int) -> None:
        for _ in range(count):
            session = make_session()
            holds.place_hold(session_ids=[session.pk], until=None, reason="r", placed_by="a")

    held_sessions(3)
    small = _changelist_queries(holder_client, {"held": "yes"})
    held_sessions(20)
    assert len(_changelist_queries(holder_client, {"held": "yes"})) == len(small)
    until, forever, free = make_session(), make_session(), make_session()
    holds.place_hold(session_ids=[until.pk], until=FAR_END, reason="r", placed_by="a")
    holds.place_hold(session_ids=[forever.pk], until=None, reason="r", placed_by="a")

    response = holder_client.get(CHANGELIST, {"held": "yes"})
    assert until.pk in _listed(response) and forever.pk in _listed(response)
    assert free.pk not in _listed(response)
    html = response.content.decode()
    assert "<strong>held</strong> until 2099-01-05 00:00 UTC" in html
    assert "<strong>held</strong> with no end" in html
    assert free.pk in _listed(holder_client.get(CHANGELIST, {"held": "no"}))
    assert until.pk not in _listed(holder_client.get(CHANGELIST, {"held": "no"}))


def test_session_page_shows_the_holds_in_force_and_the_ended_ones(holder_client):
    session = make_session()
    page = holder_client.get(change_url(session.pk)).content.decode()
    assert "not held: retention treats it as usual" in page
    holds.place_hold(session_ids=[session.pk], until=None, reason="INC-9", placed_by="ann")
    holds.release_holds(session_ids=[session.pk], released_by="ann")
    holds.place_hold(session_ids=[session.pk], until=FAR_END, reason="legal", placed_by="bo")
    page = holder_client.get(change_url(session.pk)).content.decode()
    assert "<strong>until 2099-01-05 00:00 UTC</strong>: legal, placed by bo on " in page
    assert "1 ended hold(s) in the history" in page


def test_restore_holds_for_the_configured_days_and_says_until_when(holder_client, config):
    deleted = make_session(deleted_at=timezone.now())
    response = _post_action(holder_client, "restore_selected", [deleted.pk])
    hold = SessionHold.objects.get(session_id=deleted.pk)
    assert abs(hold.until - (timezone.now() + timedelta(days=10))) < timedelta(minutes=1)
    assert hold.placed_by == "holder"
    text = " ".join(_messages(response))
    assert f"Restored 1 session: {deleted.pk}" in text
    assert "Kept from retention until " in text and f"UTC: {deleted.pk}." in text


def test_holds_list_is_read_only_and_filters_in_force_and_ended(db):
    client = _client(_staff("v", "view_sessionhold", "view_alertsession"))
    a, b = make_session(), make_session()
    holds.place_hold(session_ids=[a.pk], until=None, reason="legal", placed_by="ann")
    holds.place_hold(session_ids=[b.pk], until=None, reason="INC", placed_by="bo")
    holds.release_holds(session_ids=[b.pk], released_by="cy")
    response = client.get(HOLDS_LIST)
    assert response.status_code == 200
    assert change_url(a.pk) in response.content.decode()
    active = client.get(HOLDS_LIST, {"state": "active"}).context["cl"].result_list
    assert [h.session_id for h in active] == [a.pk]
    ended = client.get(HOLDS_LIST, {"state": "ended"}).context["cl"].result_list
    assert [(h.session_id, h.released_by) for h in ended] == [(b.pk, "cy")]
    hold = SessionHold.objects.get(session_id=a.pk)
    change = reverse("admin:alert_sessions_sessionhold_change", args=[hold.pk])
    assert client.post(change, {"reason": "edited"}).status_code == 403
    assert SessionHold.objects.get(pk=hold.pk).reason == "legal"


# -- what the next cleanup run would take ----------------------------------------------------------


def test_due_filters_list_what_the_next_run_takes_with_its_count(superuser_client, config):
    now = timezone.now()
    due = {make_session(age=timedelta(days=40), now=now).pk for _ in range(3)}
    held = make_session(age=timedelta(days=40), now=now)
    holds.place_hold(session_ids=[held.pk], until=None, reason="r", placed_by="a")
    make_session(age=timedelta(days=2), now=now)
    purgeable = make_session(deleted_at=now - timedelta(days=8))
    make_session(deleted_at=now - timedelta(days=1))

    response = superuser_client.get(CHANGELIST, {"due": "soft_delete"})
    assert _listed(response) == due
    html = response.content.decode()
    assert "Due for soft-delete at the next run" in html and "3 alert sessions" in html
    response = superuser_client.get(CHANGELIST, {"due": "purge"})
    assert _listed(response) == {purgeable.pk}
    assert "1 alert session" in response.content.decode()


def test_due_for_purge_lists_nothing_when_purge_is_off(superuser_client, config):
    config.write_text("system:\n  retention:\n    session_retention_days: 30\n")
    tarsy_config.cache_clear()
    make_session(deleted_at=timezone.now() - timedelta(days=800))
    response = superuser_client.get(CHANGELIST, {"due": "purge"})
    assert _listed(response) == set()
    assert "Due for purge (purge is off)" in response.content.decode()
