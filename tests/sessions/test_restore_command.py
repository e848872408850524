"""``manage.py restore_session``: in-process via call_command, and as a real process."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from sessions import selectors, wording
from sessions.models import AlertSession, SessionHold
from tests.factories import add_children, make_session


def _in_30_days() -> str:
    """The restore hold's end as the command words it, to the minute (either side of one)."""
    ends = {wording.kept(timezone.now() + timedelta(days=30, seconds=s)) for s in (-60, 0, 60)}
    return "(" + "|".join(re.escape(end) for end in sorted(ends)) + ")"


def _run(*args: str) -> tuple[str, str, CommandError | None]:
    out, err = StringIO(), StringIO()
    try:
        call_command("restore_session", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


def _is_deleted(session_id: str) -> bool:
    return AlertSession.all_objects.get(pk=session_id).deleted_at is not None


def _kept(session_id: str) -> str:
    """What the command says of the restore hold the session got (its one hold row)."""
    return wording.kept(SessionHold.objects.get(session_id=session_id).until)


def test_restores_a_deleted_session_with_its_children(db):
    session = make_session(deleted_at=timezone.now())
    add_children(session)
    counts = selectors.count_children(session_ids=[session.pk])
    out, err, error = _run(session.pk)
    assert error is None
    assert out == f"restored {session.pk}; {_kept(session.pk)}\n"
    assert err == ""
    assert not _is_deleted(session.pk)
    assert selectors.count_children(session_ids=[session.pk]) == counts


def test_live_session_is_success_with_nothing_to_do(db):
    session = make_session()
    out, err, error = _run(session.pk)
    assert error is None
    assert out == f"{session.pk} is not deleted (nothing to do)\n"
    assert err == ""


def test_unknown_id_is_an_error_naming_it(db):
    out, err, error = _run("no-such-session")
    assert error is not None and error.returncode == 1
    assert str(error) == "no session with id no-such-session"
    assert out == ""
    assert err == ""  # said once, by the error the command exits with


def test_mixed_ids_say_what_happened_to_each(db):
    deleted = make_session(deleted_at=timezone.now())
    live = make_session()
    out, err, error = _run(deleted.pk, "ghost", live.pk)
    assert error is not None and error.returncode == 1
    assert out.splitlines() == [
        f"restored {deleted.pk}; {_kept(deleted.pk)}",
        f"{live.pk} is not deleted (nothing to do)",
    ]
    assert str(error) == "no session with id ghost"
    assert err == ""
    assert not _is_deleted(deleted.pk)  # the valid one was restored anyway


def test_several_unknown_ids_are_one_error_naming_them_all(db):
    out, err, error = _run("ghost-1", "ghost-2")
    assert error is not None and error.returncode == 1
    assert str(error) == "no sessions with ids ghost-1, ghost-2"
    assert (out, err) == ("", "")


def test_dry_run_changes_nothing(db):
    deleted = make_session(deleted_at=timezone.now())
    live = make_session()
    out, _, error = _run("--dry-run", deleted.pk, live.pk)
    assert error is None
    first, second = out.splitlines()
    assert re.fullmatch(rf"would restore {deleted.pk}; {_in_30_days()}", first), first
    assert second == f"{live.pk} is not deleted (nothing to do)"
    assert _is_deleted(deleted.pk)
    assert not SessionHold.objects.exists()


def test_requires_at_least_one_id(db):
    with pytest.raises(CommandError, match="arguments are required: id"):
        call_command("restore_session")


# -- a real `python manage.py restore_session` process -----------------------------------------


def _manage(manage_py, env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*manage_py, "restore_session", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_process_deleted_id(subprocess_env, manage_py):
    session = make_session(deleted_at=timezone.now())
    add_children(session)
    proc = _manage(manage_py, subprocess_env, session.pk)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"restored {session.pk}; {_kept(session.pk)}\n"
    assert not _is_deleted(session.pk)


@pytest.mark.slow
def test_process_live_id(subprocess_env, manage_py):
    session = make_session()
    proc = _manage(manage_py, subprocess_env, session.pk)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{session.pk} is not deleted (nothing to do)\n"


@pytest.mark.slow
def test_process_unknown_id(subprocess_env, manage_py):
    deleted = make_session(deleted_at=timezone.now())
    proc = _manage(manage_py, subprocess_env, "ghost-id", deleted.pk)
    assert proc.returncode == 1
    assert proc.stdout == f"restored {deleted.pk}; {_kept(deleted.pk)}\n"
    # The unknown id is said once, in one log line.
    (line,) = proc.stderr.splitlines()
    assert "ERROR   tarsy.command: no session with id ghost-id command=restore_session" in line
    assert "Traceback" not in proc.stderr
    assert not _is_deleted(deleted.pk)


@pytest.mark.slow
def test_process_dry_run(subprocess_env, manage_py):
    deleted = make_session(deleted_at=timezone.now())
    proc = _manage(manage_py, subprocess_env, "--dry-run", deleted.pk)
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(rf"would restore {deleted.pk}; {_in_30_days()}\n", proc.stdout)
    assert _is_deleted(deleted.pk)
