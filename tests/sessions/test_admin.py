"""The operators' admin, driven through Django's test client."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst

from sessions import selectors
from sessions.admin import actions as session_actions
from sessions.models import CHILD_MODELS, AlertSession, ChatUserMessage, Stage
from tarsy_project.admin_mixins import EstimatedCountPaginator
from tests.factories import CHILD_TABLES, add_children, add_stage, make_session

CHANGELIST = reverse("admin:alert_sessions_alertsession_changelist")


def change_url(session_id: str) -> str:
    return reverse("admin:alert_sessions_alertsession_change", args=[session_id])


def delete_url(session_id: str) -> str:
    return reverse("admin:alert_sessions_alertsession_delete", args=[session_id])


def child_changelist(model) -> str:
    return reverse(f"admin:alert_sessions_{model._meta.model_name}_changelist")


def _staff(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, is_staff=True)  # no password: no slow hashing
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="alert_sessions", codename__in=codenames)
    )
    return user


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def superuser_client(db) -> Client:
    return _client(User.objects.create_superuser("root"))


@pytest.fixture
def viewer_client(db) -> Client:
    return _client(_staff("viewer", "view_alertsession"))


@pytest.fixture
def operator_client(db) -> Client:
    """Staff with both operator permissions, but not a superuser (and with delete perm too)."""
    return _client(
        _staff(
            "operator",
            "view_alertsession",
            "restore_alertsession",
            "soft_delete_alertsession",
            "delete_alertsession",
        )
    )


@pytest.fixture
def sessions_(db) -> tuple[AlertSession, AlertSession]:
    live = make_session(alert_type="DiskFull")
    deleted = make_session(alert_type="PodCrashLooping", deleted_at=timezone.now())
    return live, deleted


def _listed(response) -> set[str]:
    return {obj.pk for obj in response.context["cl"].result_list}


def _action_names(response) -> set[str]:
    form = response.context["action_form"]
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


def _post_action(client: Client, action: str, ids, **extra):
    data = {"action": action, "_selected_action": list(ids), "index": 0, **extra}
    return client.post(CHANGELIST, data, follow=True)


def _is_deleted(session_id: str) -> bool:
    return AlertSession.all_objects.get(pk=session_id).deleted_at is not None


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# -- the list ------------------------------------------------------------------------------------


def test_list_shows_all_sessions_by_default_with_deleted_marker(superuser_client, sessions_):
    live, deleted = sessions_
    response = superuser_client.get(CHANGELIST)
    assert response.status_code == 200
    assert _listed(response) == {live.pk, deleted.pk}
    html = response.content.decode()
    assert "soft-deleted</strong>" in html
    for column in ("Status", "Agent type", "Alert type", "Created at", "Completed at", "Deleted"):
        assert column in html


@pytest.mark.parametrize(
    ("query", "expected"), [("", "both"), ("live", "live"), ("deleted", "deleted")]
)
def test_live_deleted_all_filter(superuser_client, sessions_, query, expected):
    live, deleted = sessions_
    response = superuser_client.get(CHANGELIST, {"state": query} if query else {})
    wanted = {"both": {live.pk, deleted.pk}, "live": {live.pk}, "deleted": {deleted.pk}}
    assert _listed(response) == wanted[expected]
    html = response.content.decode()
    assert html.index(">Live<") < html.index(">Soft-deleted<") < html.index(">All<")


def test_search_by_session_id_and_alert_type(superuser_client, sessions_):
    live, deleted = sessions_
    assert _listed(superuser_client.get(CHANGELIST, {"q": deleted.pk})) == {deleted.pk}
    assert _listed(superuser_client.get(CHANGELIST, {"q": "diskf"})) == {live.pk}
    assert _listed(superuser_client.get(CHANGELIST, {"q": f" {live.pk} "})) == {live.pk}
    assert _listed(superuser_client.get(CHANGELIST, {"q": "nothing-like-it"})) == set()
    custom = make_session(session_id="incident-42", alert_type="X")
    assert _listed(superuser_client.get(CHANGELIST, {"q": "incident-42"})) == {custom.pk}
    assert _listed(superuser_client.get(CHANGELIST, {"q": "incident-4"})) == set()  # exact ids


def _changelist_queries(client: Client, params: dict | None = None) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(CHANGELIST, params or {})
        assert response.status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize("params", [{}, {"state": "deleted"}, {"status": "completed"}])
def test_changelist_queries_do_not_grow_with_sessions(superuser_client, params):
    now = timezone.now()
    for i in range(5):
        add_children(make_session(now=now, deleted_at=now if i % 2 else None))
    small = _changelist_queries(superuser_client, params)
    for i in range(45):
        make_session(now=now, deleted_at=now if i % 2 else None)
    large = _changelist_queries(superuser_client, params)
    assert len(large) == len(small) <= 8
    counts = [sql for sql in large if "COUNT(" in sql.upper()]
    assert counts, "the paginator counts (a capped count)"
    assert all("LIMIT" in sql.upper() for sql in counts), counts  # never a full-table COUNT(*)


def test_count_past_the_cap_is_estimated_or_a_lower_bound(superuser_client, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "cap", 3)
    for _ in range(5):
        make_session()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE alert_sessions")
    html = superuser_client.get(CHANGELIST).content.decode()
    if connection.vendor == "postgresql":
        assert "about 5 alert sessions (estimated)" in html
    else:
        assert "more than 3 alert sessions" in html
    # A filtered list never uses the table estimate.
    html = superuser_client.get(CHANGELIST, {"state": "live"}).content.decode()
    assert "more than 3 alert sessions" in html


def test_paginator_is_exact_below_the_cap(superuser_client, sessions_):
    html = superuser_client.get(CHANGELIST).content.decode()
    assert "2 alert sessions" in html
    assert "estimated" not in html and "more than" not in html


# -- restore and soft delete -----------------------------------------------------------------------


def test_restore_action_restores_and_audits(operator_client, sessions_):
    live, deleted = sessions_
    response = _post_action(operator_client, "restore_selected", [deleted.pk, live.pk])
    assert response.status_code == 200
    assert not _is_deleted(deleted.pk)
    assert not _is_deleted(live.pk)
    text = " ".join(_messages(response))
    assert f"Restored 1 session: {deleted.pk}" in text
    assert f"was not deleted (nothing to do): {live.pk}" in text
    entries = LogEntry.objects.filter(object_id=deleted.pk)
    assert [(e.action_flag, e.change_message, e.user.username) for e in entries] == [
        (CHANGE, "Restored (soft delete undone)", "operator")
    ]
    assert not LogEntry.objects.filter(object_id=live.pk).exists()  # nothing happened to it


def test_soft_delete_action_soft_deletes_and_audits(operator_client, sessions_):
    live, deleted = sessions_
    add_children(live)
    counts = selectors.count_children(session_ids=[live.pk])
    response = _post_action(operator_client, "soft_delete_selected", [live.pk, deleted.pk])
    assert _is_deleted(live.pk)
    assert selectors.count_children(session_ids=[live.pk]) == counts
    text = " ".join(_messages(response))
    assert f"Soft-deleted 1 session: {live.pk}" in text
    assert f"1 session was already deleted (nothing to do): {deleted.pk}" in text
    assert not LogEntry.objects.filter(object_id=deleted.pk).exists()
    entry = LogEntry.objects.get(object_id=live.pk)
    assert entry.action_flag == CHANGE
    assert entry.change_message.startswith("Soft-deleted")
    # The session's history page (the admin's own) shows the audit entry.
    history = operator_client.get(
        reverse("admin:alert_sessions_alertsession_history", args=[live.pk])
    )
    assert "Soft-deleted" in history.content.decode()


def test_restore_from_the_session_page(operator_client, sessions_):
    _, deleted = sessions_
    page = operator_client.get(change_url(deleted.pk))
    assert "Restore this session" in page.content.decode()
    response = operator_client.post(
        change_url(deleted.pk),
        {"CHANGE_FORM-action": "restore_selected", "_selected_action": deleted.pk},
        follow=True,
    )
    assert response.status_code == 200
    assert not _is_deleted(deleted.pk)
    assert LogEntry.objects.get(object_id=deleted.pk).change_message == (
        "Restored (soft delete undone)"
    )


def test_too_large_a_selection_is_refused(operator_client, monkeypatch):
    monkeypatch.setattr(session_actions, "MAX_ACTION_SESSIONS", 2)
    ids = [make_session(deleted_at=timezone.now()).pk for _ in range(3)]
    response = _post_action(operator_client, "restore_selected", ids)
    assert "More than 2 sessions selected" in " ".join(_messages(response))
    assert all(_is_deleted(pk) for pk in ids)


# -- permissions -----------------------------------------------------------------------------------


def test_anonymous_users_get_the_login_page(client, sessions_):
    _, deleted = sessions_
    for url in (CHANGELIST, change_url(deleted.pk), delete_url(deleted.pk)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    response = client.post(
        CHANGELIST, {"action": "restore_selected", "_selected_action": [deleted.pk], "index": 0}
    )
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert _is_deleted(deleted.pk)


def test_staff_without_the_permissions_sees_no_actions_and_cannot_post_them(
    viewer_client, sessions_
):
    live, deleted = sessions_
    response = viewer_client.get(CHANGELIST)
    assert response.status_code == 200
    assert _action_names(response) == set()
    assert "Restore selected sessions" not in response.content.decode()
    for action, session in (("restore_selected", deleted), ("soft_delete_selected", live)):
        _post_action(viewer_client, action, [session.pk])
    assert _is_deleted(deleted.pk) and not _is_deleted(live.pk)
    assert not LogEntry.objects.exists()


@pytest.mark.parametrize(
    ("codename", "expected"),
    [
        ("restore_alertsession", {"restore_selected"}),
        ("soft_delete_alertsession", {"soft_delete_selected"}),
    ],
)
def test_each_permission_grants_its_own_action(db, sessions_, codename, expected):
    client = _client(_staff("one", "view_alertsession", codename))
    assert _action_names(client.get(CHANGELIST)) == expected
    other = "soft_delete_selected" if "restore" in codename else "restore_selected"
    live, deleted = sessions_
    _post_action(client, other, [live.pk, deleted.pk])
    assert not _is_deleted(live.pk) and _is_deleted(deleted.pk)


def test_hard_delete_is_reserved_to_superusers(operator_client, superuser_client, sessions_):
    live, _ = sessions_
    assert _action_names(operator_client.get(CHANGELIST)) == {
        "restore_selected",
        "soft_delete_selected",
    }
    assert delete_url(live.pk) not in operator_client.get(change_url(live.pk)).content.decode()
    assert delete_url(live.pk) in superuser_client.get(change_url(live.pk)).content.decode()
    assert operator_client.get(delete_url(live.pk)).status_code == 403
    assert operator_client.post(delete_url(live.pk), {"post": "yes"}).status_code == 403
    _post_action(operator_client, "purge_selected", [live.pk], post="yes")
    assert AlertSession.all_objects.filter(pk=live.pk).exists()
    # The superuser gets our purge action, never Django's delete_selected.
    assert _action_names(superuser_client.get(CHANGELIST)) == {
        "restore_selected",
        "soft_delete_selected",
        "hold_selected",
        "release_selected",
        "purge_selected",
    }


def test_actions_are_post_only(operator_client, sessions_):
    _, deleted = sessions_
    response = operator_client.get(
        CHANGELIST, {"action": "restore_selected", "_selected_action": deleted.pk, "index": 0}
    )
    assert response.status_code in (200, 302)
    assert _is_deleted(deleted.pk)


def test_actions_need_the_csrf_token(db, sessions_):
    _, deleted = sessions_
    client = Client(enforce_csrf_checks=True)
    client.force_login(_staff("csrf", "view_alertsession", "restore_alertsession"))
    data = {"action": "restore_selected", "_selected_action": [deleted.pk], "index": 0}
    assert client.post(CHANGELIST, data).status_code == 403
    assert _is_deleted(deleted.pk)
    # With the token from the page the same POST works.
    client.get(CHANGELIST)
    data["csrfmiddlewaretoken"] = client.cookies["csrftoken"].value
    assert client.post(CHANGELIST, data).status_code == 302
    assert not _is_deleted(deleted.pk)


# -- hard delete through the purge service ---------------------------------------------------------


def test_purge_action_confirms_with_child_counts_then_purges(superuser_client, sessions_):
    live, deleted = sessions_
    add_children(live)
    add_children(deleted)
    keep = make_session()
    add_children(keep)

    with CaptureQueriesContext(connection) as ctx:
        confirm = superuser_client.post(
            CHANGELIST,
            {"action": "purge_selected", "_selected_action": [live.pk, deleted.pk], "index": 0},
        )
    assert confirm.status_code == 200
    assert confirm.templates[0].name == "admin/alert_sessions/alertsession/purge_confirmation.html"
    html = confirm.content.decode()
    for model in CHILD_MODELS:
        assert f"{capfirst(model._meta.verbose_name_plural)}: 2" in html
    assert "admin/delete_selected_confirmation.html" not in [t.name for t in confirm.templates]
    # Counts come from COUNT queries, not from loading child rows.
    reads = [q["sql"] for q in ctx if re.search(r'FROM "?stages"?\b', q["sql"])]
    assert reads and all("COUNT(" in sql.upper() for sql in reads)
    assert AlertSession.all_objects.filter(pk__in=[live.pk, deleted.pk]).count() == 2

    done = superuser_client.post(
        CHANGELIST,
        {"action": "purge_selected", "_selected_action": [live.pk, deleted.pk], "post": "yes"},
        follow=True,
    )
    assert "Hard-deleted 2 sessions" in " ".join(_messages(done))
    assert list(AlertSession.all_objects.values_list("pk", flat=True)) == [keep.pk]
    gone = selectors.count_children(session_ids=[live.pk, deleted.pk])
    assert gone == dict.fromkeys(CHILD_TABLES, 0)
    assert selectors.count_children(session_ids=[keep.pk]) == dict.fromkeys(CHILD_TABLES, 1)
    entries = LogEntry.objects.filter(action_flag=DELETION)
    assert {e.object_id for e in entries} == {live.pk, deleted.pk}
    assert all(e.change_message.startswith("Hard-deleted") for e in entries)


def test_delete_view_is_the_purge_confirmation(superuser_client, sessions_):
    live, _ = sessions_
    add_children(live)
    page = superuser_client.get(delete_url(live.pk))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Stages: 1" in html and "Chat user messages: 1" in html
    assert "admin/delete_confirmation.html" not in [t.name for t in page.templates]
    assert AlertSession.all_objects.filter(pk=live.pk).exists()

    response = superuser_client.post(delete_url(live.pk), {"post": "yes"})
    assert response.status_code == 302 and response["Location"] == CHANGELIST
    assert not AlertSession.all_objects.filter(pk=live.pk).exists()
    assert selectors.count_children(session_ids=[live.pk]) == dict.fromkeys(CHILD_TABLES, 0)
    assert LogEntry.objects.get(object_id=live.pk).action_flag == DELETION


# -- the session page and the children -------------------------------------------------------------


def test_session_page_of_a_soft_deleted_session_is_read_only(operator_client, sessions_):
    _, deleted = sessions_
    response = operator_client.get(change_url(deleted.pk))
    assert response.status_code == 200  # not redirected away (it is soft-deleted)
    html = response.content.decode()
    assert deleted.alert_type in html
    assert 'name="agent_type"' not in html  # fields are read-only
    assert 'name="_save"' not in html
    assert operator_client.post(change_url(deleted.pk), {"agent_type": "x"}).status_code == 403


def test_session_page_counts_children_and_links_to_filtered_lists(superuser_client, sessions_):
    live, deleted = sessions_
    add_children(deleted)
    other = add_children(live)
    add_stage(deleted, stage_name="second")
    html = superuser_client.get(change_url(deleted.pk)).content.decode()

    for model in CHILD_MODELS:
        n = 2 if model is Stage else 1
        label = capfirst(model._meta.verbose_name_plural)
        link = f"{child_changelist(model)}?session={deleted.pk}"
        assert f"<a href='{link}'>{label}: {n}</a>" in html
        listing = superuser_client.get(link)
        assert listing.status_code == 200
        rows = listing.context["cl"].result_list
        assert len(rows) == n
        owner = (
            (lambda r: r.chat.session_id) if model is ChatUserMessage else (lambda r: r.session_id)
        )
        assert {owner(r) for r in rows} == {deleted.pk}
        assert f'<td class="field-session_column">{deleted.pk}</td>' in listing.content.decode()
        assert other[_snake(model)].pk not in {r.pk for r in rows}


def _snake(model) -> str:
    return {
        "Stage": "stage",
        "AgentExecution": "execution",
        "TimelineEvent": "timeline_event",
        "Message": "message",
        "LLMInteraction": "llm_interaction",
        "MCPInteraction": "mcp_interaction",
        "Event": "event",
        "Chat": "chat",
        "ChatUserMessage": "chat_user_message",
    }[model.__name__]


def test_children_are_filterable_by_the_session_id_lookup_too(superuser_client, sessions_):
    live, deleted = sessions_
    add_children(live)
    add_children(deleted)
    response = superuser_client.get(
        child_changelist(Stage), {"session__session_id__exact": deleted.pk}
    )
    assert [s.session_id for s in response.context["cl"].result_list] == [deleted.pk]


def test_child_admins_are_read_only(superuser_client, sessions_):
    live, _ = sessions_
    rows = add_children(live)
    for model in CHILD_MODELS:
        name = model._meta.model_name
        row = rows[_snake(model)]
        assert superuser_client.get(reverse(f"admin:alert_sessions_{name}_add")).status_code == 403
        change = superuser_client.get(reverse(f"admin:alert_sessions_{name}_change", args=[row.pk]))
        assert change.status_code == 200
        assert 'name="_save"' not in change.content.decode()
        delete = reverse(f"admin:alert_sessions_{name}_delete", args=[row.pk])
        assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
        assert model.objects.filter(pk=row.pk).exists()
        listing = superuser_client.get(child_changelist(model))
        assert listing.context["action_form"] is None
