"""``manage.py hold_session`` and the restore hold of ``restore_session``."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from sessions import wording
from sessions.models import AlertSession, SessionHold
from tests.factories import make_session


def _run(command: str, *args: str) -> tuple[str, str, CommandError | None]:
    out, err = StringIO(), StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


def _hold(*args: str) -> tuple[str, str, CommandError | None]:
    return _run("hold_session", *args)


def _held() -> set[str]:
    return set(AlertSession.all_objects.held().values_list("pk", flat=True))


def test_hold_until_a_day_with_a_reason_and_who(db):
    session = make_session()
    out, err, error = _hold(
        "hold", session.pk, "--until", "2099-01-05", "--reason", "INC-1234", "--by", "alice"
    )
    assert error is None, err
    assert out == f"held {session.pk}; kept from retention until 2099-01-05 00:00 UTC\n"
    hold = SessionHold.objects.get()
    assert (hold.session_id, hold.placed_by, hold.reason) == (session.pk, "alice", "INC-1234")
    assert hold.until == datetime(2099, 1, 5, tzinfo=UTC)
    assert timezone.now() - hold.placed_at < timedelta(minutes=1)


def test_hold_for_days_or_with_no_end_and_a_second_hold_is_nothing_to_do(db):
    a, b = make_session(), make_session()
    out, _, error = _hold("hold", a.pk, "--days", "10", "--reason", "review")
    assert error is None
    until = SessionHold.objects.get(session_id=a.pk).until
    assert abs(until - (timezone.now() + timedelta(days=10))) < timedelta(minutes=1)
    assert out == f"held {a.pk}; {wording.kept(until)}\n"
    out, _, error = _hold("hold", a.pk, b.pk, "--no-end", "--reason", "legal hold")
    assert error is None
    assert out.splitlines() == [
        f"held {a.pk}; kept from retention with no end",
        f"held {b.pk}; kept from retention with no end",
    ]
    out, _, _ = _hold("hold", b.pk, "--days", "3", "--reason", "x")
    assert out == f"{b.pk} is already held (kept from retention with no end; nothing to do)\n"
    assert _held() == {a.pk, b.pk}


def test_release_and_unknown_ids(db):
    held, free = make_session(), make_session()
    _hold("hold", held.pk, "--no-end", "--reason", "r")
    out, err, error = _hold("release", held.pk, "ghost", free.pk, "--by", "bob")
    assert error is not None and error.returncode == 1
    assert str(error) == "no session with id ghost"
    assert out.splitlines() == [
        f"released {held.pk}; {wording.RELEASED}",
        f"{free.pk} is not held (nothing to do)",
    ]
    assert err == ""  # said once, in the error the command exits with
    assert _held() == set()
    assert SessionHold.objects.get().released_by == "bob"


def test_unknown_ids_change_nothing_for_them_and_the_known_are_held(db):
    session = make_session()
    out, err, error = _hold("hold", "ghost", session.pk, "--no-end", "--reason", "r")
    assert error is not None and error.returncode == 1
    assert out == f"held {session.pk}; kept from retention with no end\n"
    assert str(error) == "no session with id ghost" and err == ""
    assert list(SessionHold.objects.values_list("session_id", flat=True)) == [session.pk]


def test_dry_run_says_and_changes_nothing(db):
    session = make_session()
    out, _, error = _hold("hold", session.pk, "--no-end", "--reason", "r", "--dry-run")
    assert error is None
    assert out == f"would hold {session.pk}; kept from retention with no end\n"
    assert not SessionHold.objects.exists()


def test_list_shows_the_holds_in_force_and_all_of_them_with_all(db):
    a, b = make_session(), make_session()
    _hold("hold", a.pk, "--until", "2099-01-05", "--reason", "INC-1", "--by", "alice")
    _hold("hold", b.pk, "--no-end", "--reason", "legal", "--by", "carol")
    _hold("release", b.pk, "--by", "dave")
    out, _, _ = _hold("list")
    header, row = out.splitlines()
    assert header.split() == ["SESSION_ID", "PLACED_BY", "PLACED_AT", "UNTIL", "REASON"]
    assert row.split()[0:2] == [a.pk, "alice"]
    assert row.split()[3:] == ["2099-01-05T00:00:00Z", "INC-1"]
    out, _, _ = _hold("list", "--all", "--format", "json")
    listed = json.loads(out)["holds"]
    assert [(h["session_id"], h["released_by"]) for h in listed] == [(b.pk, "dave"), (a.pk, "")]
    assert listed[0]["until"] is None and listed[0]["released_at"].endswith("Z")
    _hold("release", a.pk)
    assert _hold("list")[0] == "no session is held\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["hold", "x", "--reason", "r"], "hold needs --until DATE, --days N or --no-end"),
        (["hold", "x", "--no-end"], "a hold needs a reason (nothing was changed)"),
        (["hold", "x", "--until", "2001-01-01", "--reason", "r"], "a hold must end in the future"),
        (["hold", "x", "--until", "next week", "--reason", "r"], "--until: not a date or time"),
        (["hold", "--no-end", "--reason", "r"], "hold needs at least one session id"),
        (["release"], "release needs at least one session id"),
        (["list", "x"], "list takes no session ids"),
    ],
)
def test_bad_input_is_one_clear_error_and_changes_nothing(db, args, message):
    make_session(session_id="x")
    _, _, error = _hold(*args)
    assert error is not None and error.returncode == 2
    assert message in str(error)
    assert not SessionHold.objects.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["hold", "x", "--days", "0", "--reason", "r"],
        ["hold", "x", "--days", "2", "--no-end", "--reason", "r"],
        ["pause", "x"],
    ],
)
def test_bad_flags_are_refused_by_the_parser(db, args):
    with pytest.raises(CommandError):
        call_command("hold_session", *args)
    assert not SessionHold.objects.exists()


# -- restore_session and its hold -----------------------------------------------------------------


def test_restore_hold_days_flag_and_zero_for_none(db):
    a, b = make_session(deleted_at=timezone.now()), make_session(deleted_at=timezone.now())
    out, _, error = _run("restore_session", a.pk, "--hold-days", "5", "--by", "erin")
    assert error is None
    hold = SessionHold.objects.get(session_id=a.pk)
    assert abs(hold.until - (timezone.now() + timedelta(days=5))) < timedelta(minutes=1)
    assert (hold.placed_by, hold.reason) == ("erin", "restored: kept from retention for 5 days")
    assert out == f"restored {a.pk}; {wording.kept(hold.until)}\n"
    out, _, error = _run("restore_session", b.pk, "--hold-days", "0")
    assert error is None
    assert out == f"restored {b.pk}; {wording.NOT_HELD}\n"
    assert not SessionHold.objects.filter(session_id=b.pk).exists()


def test_restore_hold_days_follow_the_config(db, tmp_path: Path):
    session = make_session(deleted_at=timezone.now())
    config = tmp_path / "tarsy.yaml"
    config.write_text("system:\n  retention:\n    restore_hold_days: 0\n", encoding="utf-8")
    out, _, error = _run("restore_session", session.pk, "--config", str(config))
    assert error is None
    assert out == f"restored {session.pk}; {wording.NOT_HELD}\n"
    with override_settings(TARSY_CONFIG=str(config)):
        config.write_text("system:\n  retention:\n    restore_hold_days: nope\n")
        _, _, error = _run("restore_session", session.pk)
    assert error is not None and "system.retention.restore_hold_days" in str(error)


def test_restore_help_explains_the_hold(capsys):
    with pytest.raises(SystemExit):
        call_command("restore_session", "--help")
    text = " ".join(capsys.readouterr().out.split())
    assert "kept out of retention" in text
    assert "--hold-days N" in text and "0: no hold" in text


@pytest.mark.slow
def test_process_bad_input_is_one_json_line(subprocess_env, manage_py):
    env = dict(subprocess_env, LOG_FORMAT="json")
    done = subprocess.run(
        [*manage_py, "hold_session", "hold", "x", "--reason", "r"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert json.loads(line)["message"] == "hold needs --until DATE, --days N or --no-end"
