"""The operator's path through the admin, in a real browser against the real app (issue 8).

1. an anonymous visit to the sessions list lands on the login page; an operator with the
   restore permission logs in;
2. the list shows live and soft-deleted sessions; the "Soft-deleted" filter narrows it;
3. a soft-deleted session's page shows its fields and child counts; a count links to that child
   list filtered to the session;
4. "Restore selected sessions" from the list: the message names the session, it is live again,
   and the session's history records who restored it;
5. the cleanup run list is newest first and read-only;
6. a staff user without the permissions sees neither the restore nor the soft-delete action.

With ``TARSY_UPDATE_SCREENSHOTS=1`` the flow also refreshes the screenshots in ``docs/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission, User
from django.utils import timezone
from selenium.webdriver.support.ui import Select

from retention.models import CleanupRun
from sessions.models import CHILD_MODELS, AlertSession, SessionStatus, Stage
from tests.e2e.conftest import Pages
from tests.factories import add_children, make_session

PASSWORD = "e2e-not-a-secret-9f3c"
SESSIONS = "/admin/alert_sessions/alertsession/"
CLEANUP_RUNS = "/admin/retention/cleanuprun/"
RESTORE = "Restore selected sessions"
SOFT_DELETE = "Soft-delete selected sessions"


@dataclass
class Data:
    live: list[AlertSession]
    deleted: list[AlertSession]
    runs_newest_first: list[CleanupRun]

    @property
    def target(self) -> AlertSession:
        """The soft-deleted session (with children) that the operator restores."""
        return self.deleted[0]


@pytest.fixture
def data(transactional_db) -> Data:
    now = timezone.now()
    live = [
        make_session(age=timedelta(hours=2), alert_type="PodCrashLooping", now=now),
        make_session(
            status=SessionStatus.IN_PROGRESS, age=timedelta(minutes=5), alert_type="NodeNotReady"
        ),
    ]
    add_children(live[0])
    deleted = [
        make_session(
            age=timedelta(days=400),
            alert_type="DiskPressure",
            deleted_at=now - timedelta(days=3),
            author="alice",
            final_analysis="The disk filled up with container logs.",
        ),
        make_session(
            status=SessionStatus.FAILED,
            age=timedelta(days=500),
            alert_type="OOMKilled",
            deleted_at=now - timedelta(days=3),
            error_message="LLM provider timed out",
        ),
    ]
    add_children(deleted[0])
    # Created out of order on purpose: the list must sort them, not show insertion order.
    runs = {}
    for host, hours_ago in (("pod-b", 13), ("pod-a", 1), ("pod-c", 25)):
        started = now - timedelta(hours=hours_ago)
        runs[hours_ago] = CleanupRun.objects.create(
            job="retention",
            host=host,
            started_at=started,
            finished_at=started + timedelta(milliseconds=1500),
            outcome=CleanupRun.Outcome.SUCCESS,
            counts={"soft_deleted": hours_ago, "events_expired": 0, "purged": 0},
        )
    return Data(live=live, deleted=deleted, runs_newest_first=[runs[h] for h in sorted(runs)])


def make_staff(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def operator(transactional_db) -> User:
    """Staff who may look at everything here and restore sessions (not soft-delete them)."""
    views = [f"view_{m._meta.model_name}" for m in (AlertSession, *CHILD_MODELS, CleanupRun)]
    return make_staff("operator", *views, "restore_alertsession")


@pytest.fixture
def viewer(transactional_db) -> User:
    """Staff who may look at sessions but holds neither the restore nor the soft-delete right."""
    return make_staff("viewer", "view_alertsession", "view_cleanuprun")


def listed_ids(pages: Pages) -> list[str]:
    return pages.texts("#result_list tbody .field-session_id")


def deleted_cell(pages: Pages, session_id: str) -> str:
    checkbox = pages.css(f"#result_list tbody input.action-select[value='{session_id}']")
    row = checkbox.find_element("xpath", "ancestor::tr")
    return row.find_element("css selector", ".field-deleted").text


def action_choices(pages: Pages) -> list[str]:
    return pages.texts("select[name=action] option")


def run_action(pages: Pages, description: str) -> None:
    """Pick an action, press Run, and confirm it if the admin asks (Django's ``post=yes`` form)."""
    Select(pages.css("select[name=action]")).select_by_visible_text(description)
    pages.click_and_load(pages.css(".actions button[type=submit]"))
    confirm = pages.all_css("form input[name=post][value=yes]")
    if confirm:
        form = confirm[0].find_element("xpath", "ancestor::form")
        pages.click_and_load(form.find_element("css selector", "[type=submit]"))


def test_operator_finds_and_restores_a_soft_deleted_session(
    pages: Pages, data: Data, operator: User
) -> None:
    target = data.target
    every_id = {s.pk for s in data.live + data.deleted}

    # 1. Anonymous: the sessions list sends to the login page, which comes back after login.
    pages.open(SESSIONS)
    assert "/admin/login/" in pages.driver.current_url
    pages.log_in("operator", PASSWORD)
    assert pages.driver.current_url == pages.url(SESSIONS)

    # 2. Live and soft-deleted sessions side by side, the deleted ones marked. (The navigation
    # sidebar is folded away first, as an operator would to see every column.)
    if pages.css("#nav-sidebar").is_displayed():  # the admin remembers it in localStorage
        pages.css("#toggle-nav-sidebar").click()
        pages.wait(lambda d: not pages.css("#nav-sidebar").is_displayed())
    assert set(listed_ids(pages)) == every_id
    for session in data.deleted:
        assert deleted_cell(pages, session.pk).startswith("soft-deleted")
    for session in data.live:
        assert deleted_cell(pages, session.pk) == "—"
    # The filter reads Live / Soft-deleted / All; "Soft-deleted" keeps only the deleted ones.
    state_filter = pages.css("#changelist-filter details[data-filter-title='state']")
    choices = [a.text.strip() for a in state_filter.find_elements("css selector", "li a")]
    assert choices == ["Live", "Soft-deleted", "All"]
    pages.click_and_load(state_filter.find_element("link text", "Soft-deleted"))
    assert "state=deleted" in pages.driver.current_url
    assert set(listed_ids(pages)) == {s.pk for s in data.deleted}
    pages.screenshot("docs/admin-soft-deleted-list.png")

    # 3. The soft-deleted session's page: its fields, and how many rows of each child kind.
    pages.click_and_load(pages.driver.find_element("link text", target.pk))
    assert pages.css(".field-session_id .readonly").text == target.pk
    assert pages.css(".field-alert_type .readonly").text == "DiskPressure"
    assert pages.css(".field-author .readonly").text == "alice"
    assert "container logs" in pages.css(".field-final_analysis .readonly").text
    assert pages.css(".field-deleted_at .readonly").text not in ("", "-")
    counts = pages.texts(".field-child_rows ul.child-rows li a")
    assert len(counts) == len(CHILD_MODELS)
    assert all(text.endswith(": 1") for text in counts), counts
    assert "Stages: 1" in counts
    # A count opens that child's list, filtered to this session (the live session has a stage
    # too, so an unfiltered list would show two).
    assert Stage.objects.count() == 2
    pages.click_and_load(pages.driver.find_element("link text", "Stages: 1"))
    assert "/admin/alert_sessions/stage/" in pages.driver.current_url
    assert f"session={target.pk}" in pages.driver.current_url
    assert pages.texts("#result_list tbody .field-session_column") == [target.pk]

    # 4. Back to the list, select the session, run "Restore selected sessions".
    pages.open(SESSIONS + "?state=deleted")
    assert RESTORE in action_choices(pages)
    assert SOFT_DELETE not in action_choices(pages)  # this operator may restore only
    pages.css(f"input.action-select[value='{target.pk}']").click()
    run_action(pages, RESTORE)
    success = pages.texts(".messagelist .success")
    assert any("Restored" in text and target.pk in text for text in success), success
    # Gone from the soft-deleted list, back among the live ones, unmarked.
    assert target.pk not in listed_ids(pages)
    pages.open(SESSIONS + "?state=live")
    assert target.pk in listed_ids(pages)
    assert deleted_cell(pages, target.pk) == "—"
    target.refresh_from_db()
    assert target.deleted_at is None
    # The admin's history says who restored it.
    entry = LogEntry.objects.get(object_id=target.pk)
    assert (entry.user, entry.action_flag) == (operator, CHANGE)
    pages.open(f"{SESSIONS}{target.pk}/history/")
    history = pages.texts("#change-history tbody tr")
    assert len(history) == 1 and "operator" in history[0] and "Restored" in history[0], history
    # The restored session's page: live, its children all there.
    pages.open(f"{SESSIONS}{target.pk}/change/")
    assert pages.css(".field-deleted_at .readonly").text == "-"
    assert pages.texts(".field-child_rows ul.child-rows li a") == counts
    pages.screenshot("docs/admin-restored-session.png")


def test_cleanup_runs_are_listed_newest_first_and_read_only(
    pages: Pages, data: Data, operator: User
) -> None:
    pages.open(CLEANUP_RUNS)
    pages.log_in("operator", PASSWORD)
    assert pages.driver.current_url == pages.url(CLEANUP_RUNS)
    hosts = pages.texts("#result_list tbody .field-host")
    assert hosts == [run.host for run in data.runs_newest_first] == ["pod-a", "pod-b", "pod-c"]
    # Nothing to add, no actions, no checkboxes.
    assert not pages.all_css(".object-tools .addlink")
    assert not pages.all_css("select[name=action]")
    assert not pages.all_css("input.action-select")
    # A run's page is a view page: no form to save, nothing to delete.
    pages.click_and_load(pages.css("#result_list tbody tr th a"))
    assert f"/{data.runs_newest_first[0].pk}/change/" in pages.driver.current_url
    assert pages.css(".field-host .readonly").text == "pod-a"
    assert not pages.all_css(".submit-row [name=_save]")
    assert not pages.all_css(".submit-row .deletelink")


def test_staff_without_the_permissions_sees_no_restore_or_soft_delete(
    pages: Pages, data: Data, viewer: User
) -> None:
    pages.open(SESSIONS)
    pages.log_in("viewer", PASSWORD)
    assert set(listed_ids(pages)) == {s.pk for s in data.live + data.deleted}
    offered = action_choices(pages)
    assert not any("Restore" in c or "Soft-delete" in c for c in offered), offered
    # Nor on a soft-deleted session's own page.
    pages.open(f"{SESSIONS}{data.target.pk}/change/")
    assert pages.css(".field-session_id .readonly").text == data.target.pk
    offered = action_choices(pages)
    assert not any("Restore" in c or "Soft-delete" in c for c in offered), offered
    assert AlertSession.all_objects.filter(deleted_at__isnull=False).count() == 2
