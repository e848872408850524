"""The bad-config corpus through real command processes, and TARSY_CONFIG with system checks.

Every file of the corpus makes ``run_cleanup --once --config X`` and ``stream_session`` exit
non-zero with one clear error line on stderr (JSON, no traceback) and change nothing: no
session deleted, no file swept or written, no run recorded, no heartbeat. The last tests check
that every maximum the loader accepts works downstream, and how ``manage.py check`` and the
commands treat the file ``TARSY_CONFIG`` names.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from retention.models import CleanupRun
from sessions.models import AlertSession, Event
from tarsy_project.exits import ExitCode
from tests.retention.conftest import deleted_count, seed_backlog, write_config

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
# Starting Django on a busy two-core machine takes seconds; a hang is far beyond this.
TIMEOUT = 90


def streaming(body: str) -> str:
    return f"system:\n  streaming_logs:\n    {body}\n"


def retention(body: str) -> str:
    return f"system:\n  retention:\n    {body}\n"


# (id, what the file holds or names, a fragment of the error line)
CORPUS = [
    ("dev-zero", "/dev/zero", "config file '/dev/zero' is not a regular file (a character device)"),
    ("dev-urandom", "/dev/urandom", "'/dev/urandom' is not a regular file (a character device)"),
    ("fifo", "<fifo>", "is not a regular file (a FIFO)"),
    ("over-1-mib", "<large>", "is larger than 1 MiB (the limit for a config file)"),
    ("deep-nesting", "system: " + "[" * 1000 + "\n", "nesting deeper than 64 levels"),
    (
        "cleanup_interval_seconds",
        streaming("cleanup_interval_seconds: 1000000000000000"),
        "system.streaming_logs.cleanup_interval_seconds: 1000000000000000 is out of range",
    ),
    (
        "max_session_age_hours-1e20",
        streaming("max_session_age_hours: 1e20"),
        "system.streaming_logs.max_session_age_hours: expected an integer, got '1e20'",
    ),
    (
        "max_session_age_hours-int",
        streaming("max_session_age_hours: 100000000000000000000"),
        "system.streaming_logs.max_session_age_hours: 100000000000000000000 is out of range",
    ),
    (
        "flush_interval_seconds-1e20",
        streaming("flush_interval_seconds: 1.0e+20"),
        "system.streaming_logs.flush_interval_seconds: expected an integer, got 1e+20",
    ),
    (
        "flush_interval_seconds-int",
        streaming("flush_interval_seconds: 100000000000000000000"),
        "system.streaming_logs.flush_interval_seconds: 100000000000000000000 is out of range",
    ),
    (
        "file_retention_minutes",
        streaming("file_retention_minutes: 100000000000000000000"),
        "system.streaming_logs.file_retention_minutes: 100000000000000000000 is out of range",
    ),
    (
        "batch_size",
        retention("batch_size: 99999999999999999999999"),
        "system.retention.batch_size: 99999999999999999999999 is out of range",
    ),
    (
        "event_ttl",
        retention("event_ttl: 20000000h"),
        "system.retention.event_ttl: '20000000h' is out of range (must be at most 876000h",
    ),
    (
        "cleanup_interval",
        retention("cleanup_interval: 23999999976h"),
        "system.retention.cleanup_interval: '23999999976h' is out of range (must be at most 8760h",
    ),
    (
        "base_dir-nul",
        streaming('base_dir: "/tmp/a\\0b"'),
        "system.streaming_logs.base_dir: a path cannot contain a NUL character",
    ),
    (
        "unset-variable",
        retention("session_retention_days: ${TARSY_TEST_NEVER_SET}"),
        "system.retention.session_retention_days: environment variable TARSY_TEST_NEVER_SET",
    ),
    (
        "unbuildable-value",
        retention("batch_size: !!int abc"),
        "cannot read the value as !!int",
    ),
    (
        "typo-in-tarsys-file",
        (Path(__file__).parents[1] / "fixtures" / "tarsy-latest.yaml")
        .read_text(encoding="utf-8")
        .replace("    event_ttl:", "    event_tll:"),
        "system.retention.event_tll: unknown key",
    ),
]


def config_path(tmp_path: Path, content: str) -> str:
    """The path a corpus case gives ``--config``: a device, a FIFO, or a file it writes."""
    if content.startswith("/dev/"):
        return content
    path = tmp_path / "bad.yaml"
    if content == "<fifo>":
        os.mkfifo(path)
    elif content == "<large>":
        path.write_text("system: {}\n" + "# padding\n" * 110_000, encoding="utf-8")
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def run(argv: list[str], env: dict[str, str], cwd: Path = REPO, stdin: bytes = b""):
    """Run a command to its end (a hang fails the test); stderr must be JSON lines only."""
    done = subprocess.run(
        argv, env=env, cwd=cwd, input=stdin, capture_output=True, timeout=TIMEOUT, check=False
    )
    stderr = done.stderr.decode()
    assert "Traceback" not in stderr, stderr
    try:
        records = [json.loads(line) for line in stderr.splitlines()]
    except ValueError:
        pytest.fail(f"a stderr line is not JSON:\n{stderr}")
    return done.returncode, records


def the_one_error(records: list[dict]) -> str:
    errors = [r for r in records if r["level"] == "ERROR"]
    assert len(errors) == 1 and errors[0] is records[-1], records
    message = errors[0]["message"]
    assert message.startswith("invalid configuration: ") and len(message) < 400, message
    return message


@pytest.mark.parametrize(
    ("content", "fragment"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS]
)
def test_run_cleanup_refuses_the_file_and_changes_nothing(
    manage_py: list[str],
    cleanup_env: dict[str, str],
    tmp_path: Path,
    sweep_dir: Path,
    content: str,
    fragment: str,
) -> None:
    seed_backlog(old_sessions=3, old_events=2)
    old = sweep_dir / "done.log"
    old.write_bytes(b"kept")
    os.utime(old, (0, 0))
    before = (AlertSession.all_objects.count(), Event.objects.count())
    env = {**cleanup_env, "TARSY_CONFIG": str(tmp_path / "absent.yaml")}  # --config wins
    code, records = run(
        [*manage_py, "run_cleanup", "--once", "--config", config_path(tmp_path, content)], env
    )
    assert code == ExitCode.USAGE
    assert fragment in the_one_error(records)
    assert deleted_count() == 0
    assert (AlertSession.all_objects.count(), Event.objects.count()) == before
    assert old.read_bytes() == b"kept"
    assert CleanupRun.objects.count() == 0
    assert not Path(cleanup_env["TARSY_HEARTBEAT_FILE"]).exists()


# The file-level cases, and the values stream_session itself uses.
STREAM_CASES = [
    case
    for case in CORPUS
    if case[0]
    in (
        "dev-zero",
        "fifo",
        "deep-nesting",
        "max_session_age_hours-1e20",
        "max_session_age_hours-int",
        "flush_interval_seconds-1e20",
        "flush_interval_seconds-int",
        "base_dir-nul",
    )
]


@pytest.mark.parametrize(
    ("content", "fragment"), [c[1:] for c in STREAM_CASES], ids=[c[0] for c in STREAM_CASES]
)
def test_stream_session_refuses_the_file_and_writes_nothing(
    manage_py: list[str], tmp_path: Path, content: str, fragment: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    path = config_path(tmp_path, content)
    env = {
        k: v for k, v in os.environ.items() if k not in ("TARSY_CONFIG", "DJANGO_SETTINGS_MODULE")
    }
    env.update(SECRET_KEY="tests-only-not-secret", LOG_FORMAT="json")
    code, records = run(
        [*manage_py, "stream_session", "s1", "--config", path], env, cwd=work, stdin=b"data\n"
    )
    assert code == ExitCode.USAGE
    assert fragment in the_one_error(records)
    assert list(work.iterdir()) == []


# -- every maximum works downstream --------------------------------------------------------------

MAXIMA = """\
queue:
  orphan_detection_interval: 8760h
  orphan_threshold: 8760h
system:
  retention:
    session_retention_days: 36500
    event_ttl: 876000h
    cleanup_interval: 8760h
    purge_after_days: 36500
    batch_size: 10000
    restore_hold_days: 36500
  streaming_logs:
    base_dir: {base_dir}
    flush_interval_seconds: 86400
    cleanup_interval_seconds: 31536000
    file_retention_minutes: 525600
    max_session_age_hours: 8760
    min_free_percent: 100
    max_dir_mb: 16777216
"""


def test_every_maximum_runs_cleanly(
    manage_py: list[str], cleanup_env: dict[str, str], tmp_path: Path, sweep_dir: Path
) -> None:
    seed_backlog(old_sessions=3, old_events=2)
    config = tmp_path / "max.yaml"
    config.write_text(MAXIMA.format(base_dir=sweep_dir), encoding="utf-8")
    argv = ["--config", str(config)]
    code, records = run([*manage_py, "run_cleanup", "--once", *argv], cleanup_env)
    assert code == 0, records
    outcomes = {r["job"]: r["outcome"] for r in records if "outcome" in r}
    assert outcomes == {"orphans": "success", "retention": "success", "sweep": "success"}
    assert deleted_count() == 0  # nothing is 100 years old
    code, records = run([*manage_py, "cleanup_status", *argv], cleanup_env)
    assert code == 0, records
    code, records = run(
        [*manage_py, "stream_session", "s1", *argv], cleanup_env, stdin=b"line one\n"
    )
    assert code == 0, records
    assert (sweep_dir / "s1.log").read_bytes() == b"line one\n"


# -- TARSY_CONFIG, warnings and system checks -----------------------------------------------------


def test_warnings_of_tarsy_config_are_logged_once_as_json(
    manage_py: list[str], cleanup_env: dict[str, str], tmp_path: Path, sweep_dir: Path
) -> None:
    config = write_config(tmp_path, sweep_dir=sweep_dir, batch_size=10)
    config.write_text(config.read_text() + "sytem: {}\n", encoding="utf-8")
    env = {**cleanup_env, "TARSY_CONFIG": str(config)}
    code, records = run([*manage_py, "run_cleanup", "--once", "--dry-run"], env)
    assert code == 0, records
    warnings = [r for r in records if r["level"] == "WARNING"]
    assert len(warnings) == 1, records
    assert warnings[0]["message"] == (
        f"{config}: sytem: unknown key, ignored (did you mean system?)"
    )
    assert warnings[0]["key"] == "sytem"
    starting = next(r for r in records if r["message"] == "cleanup starting")
    assert starting["config"]["retention"]["batch_size"] == 10


def test_a_bad_tarsy_config_does_not_break_a_command_given_another_file(
    manage_py: list[str], cleanup_env: dict[str, str], tmp_path: Path, sweep_dir: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(retention("batch_sise: 5"), encoding="utf-8")
    good = write_config(tmp_path, sweep_dir=sweep_dir)
    env = {**cleanup_env, "TARSY_CONFIG": str(bad)}
    code, records = run([*manage_py, "run_cleanup", "--once", "--config", str(good)], env)
    assert code == 0, records
    # Without --config the command reads TARSY_CONFIG and reports it as one clean line.
    code, records = run([*manage_py, "run_cleanup", "--once"], env)
    assert code == ExitCode.USAGE
    assert "system.retention.batch_sise: unknown key" in the_one_error(records)


def run_check(manage_py: list[str], env: dict[str, str], config: Path):
    """``manage.py check`` with ``TARSY_CONFIG`` naming ``config`` (Django's plain-text output)."""
    return subprocess.run(
        [*manage_py, "check"],
        env={**env, "TARSY_CONFIG": str(config)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_manage_py_check_validates_tarsy_config(
    manage_py: list[str], subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(retention("event_ttl: 7d"), encoding="utf-8")
    done = run_check(manage_py, subprocess_env, bad)
    assert done.returncode == 1
    expected = "(tarsy.E001) invalid configuration: system.retention.event_ttl: invalid duration"
    assert f"{expected} '7d'" in done.stderr
    warned = tmp_path / "warned.yaml"
    warned.write_text("sytem: {}\n", encoding="utf-8")
    done = run_check(manage_py, subprocess_env, warned)
    assert done.returncode == 0, done.stderr
    expected = f"(tarsy.W001) {warned}: sytem: unknown key, ignored (did you mean system?)"
    assert expected in done.stderr
