"""The usual failures of a command: one line, its own exit code, no traceback.

Real ``manage.py`` processes against real databases: a port where nothing listens, a database
that was never migrated (an empty SQLite file, or an empty PostgreSQL database on the server of
this test run), a garbage DATABASE_URL, a missing tarsy.yaml. The exit codes are the table of
``tarsy_project.exits`` (README.md, "Exit codes").
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from tests.commandline import REPO, base_env, free_port, manage, the_error
from tests.factories import make_session

PASSWORD = "s3cret-pw"

pytestmark = pytest.mark.slow


# -- the database cannot be reached ------------------------------------------------------------

COMMANDS = [
    ("cleanup_status",),
    ("run_cleanup", "--once"),
    ("restore_session", "s-1"),
    ("migrate",),  # Django's own
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda argv: argv[0])
def test_unreachable_postgresql_names_host_and_port_never_the_password(
    argv: tuple[str, ...], tmp_path: Path
) -> None:
    port = free_port()
    url = f"postgres://tarsy:{PASSWORD}@127.0.0.1:{port}/tarsy"
    env = base_env(DATABASE_URL=url, TARSY_HEARTBEAT_FILE=str(tmp_path / "heartbeat"))
    done = manage(*argv, env=env)
    assert done.returncode == 3, done.stderr
    assert the_error(done, argv[0]) == (
        f"database unreachable: cannot connect to 127.0.0.1:{port} (database tarsy): "
        "Connection refused"
    )
    assert PASSWORD not in done.stdout + done.stderr
    assert not (tmp_path / "heartbeat").exists()


def test_unopenable_sqlite_file(tmp_path: Path) -> None:
    directory = tmp_path / "a-directory"
    directory.mkdir()
    done = manage("cleanup_status", env=base_env(DATABASE_URL=f"sqlite:///{directory}"))
    assert done.returncode == 3
    assert the_error(done, "cleanup_status") == (
        f"database unreachable: cannot open SQLite database {directory}: "
        "unable to open database file"
    )


def test_sqlite_directory_that_cannot_be_created(tmp_path: Path) -> None:
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("")
    path = in_the_way / "tarsy.sqlite3"
    done = manage("cleanup_status", env=base_env(DATABASE_URL=f"sqlite:///{path}"))
    assert done.returncode == 3
    assert the_error(done, "cleanup_status") == (
        f"database unreachable: cannot create the directory of SQLite database {path}: File exists"
    )


def test_traceback_only_at_log_level_debug() -> None:
    url = f"postgres://tarsy@127.0.0.1:{free_port()}/tarsy"
    quiet = manage("cleanup_status", env=base_env(DATABASE_URL=url, LOG_FORMAT="text"))
    assert quiet.returncode == 3
    (line,) = quiet.stderr.splitlines()
    assert " ERROR   tarsy.command: database unreachable: cannot connect to 127.0.0.1:" in line
    assert line.endswith(": Connection refused command=cleanup_status exit_code=3")

    debug = manage(
        "cleanup_status", env=base_env(DATABASE_URL=url, LOG_FORMAT="text", LOG_LEVEL="debug")
    )
    assert debug.returncode == 3
    assert line.split(" ", 1)[1] in debug.stderr  # the same line, another timestamp
    assert "Traceback (most recent call last):" in debug.stderr
    assert "OperationalError" in debug.stderr


# -- the schema is not migrated ----------------------------------------------------------------


@pytest.fixture
def unmigrated_url(transactional_db: None, tmp_path: Path) -> Iterator[str]:
    """An empty database of the engine this run tests: an SQLite file, or a PostgreSQL
    database created beside the test database and dropped afterwards."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    settings = connection.settings_dict
    name = f"{settings['NAME']}_unmigrated"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    user = settings.get("USER") or "postgres"
    host = settings.get("HOST") or "127.0.0.1"
    try:
        yield f"postgres://{user}@{host}:{settings.get('PORT') or 5432}/{name}"
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def not_migrated_message() -> re.Pattern[str]:
    """The line for a database with no migration applied: every migration of the project."""
    total = len(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)
    return re.compile(
        rf"database is not migrated: {total} unapplied migration\(s\) "
        r"\(contenttypes\.0001_initial, auth\.0001_initial, admin\.0001_initial "
        rf"and {total - 3} more\); run `manage\.py migrate`"
    )


@pytest.mark.parametrize("argv", COMMANDS[:3], ids=lambda argv: argv[0])
def test_project_commands_stop_before_an_unmigrated_database(
    argv: tuple[str, ...], unmigrated_url: str, tmp_path: Path
) -> None:
    env = base_env(DATABASE_URL=unmigrated_url, TARSY_HEARTBEAT_FILE=str(tmp_path / "beat"))
    done = manage(*argv, env=env)
    assert done.returncode == 4, done.stderr
    assert not_migrated_message().fullmatch(the_error(done, argv[0]))
    assert not (tmp_path / "beat").exists()


def test_django_command_on_an_unmigrated_database(unmigrated_url: str) -> None:
    env = base_env(DATABASE_URL=unmigrated_url)
    done = manage("changepassword", "nobody", env=env)
    assert done.returncode == 4, done.stderr
    missing = (
        "no such table: auth_user"
        if connection.vendor == "sqlite"
        else 'relation "auth_user" does not exist'
    )
    assert the_error(done, "changepassword") == (
        f"database is not migrated: {missing}; run `manage.py migrate`"
    )


# A `migrate` built as the project's own override builds it: MigrateCheckMixin first.
MIGRATE_WITH_CHECK = textwrap.dedent(
    """
    import os, sys
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tarsy_project.settings")
    import django
    django.setup()
    from django.core.management.commands.migrate import Command as DjangoMigrate
    from tarsy_project.failures import exit_on_failure
    from tarsy_project.schema import MigrateCheckMixin

    class Command(MigrateCheckMixin, DjangoMigrate):
        pass

    with exit_on_failure("migrate"):
        Command().run_from_argv(["manage.py", "migrate", *sys.argv[1:]])
    """
)


def test_migrate_check_names_the_unapplied_migrations(
    unmigrated_url: str, subprocess_env: dict[str, str]
) -> None:
    def migrate(*args: str, url: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", MIGRATE_WITH_CHECK, *args],
            cwd=REPO,
            env=base_env(DATABASE_URL=url),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    behind = migrate("--check", url=unmigrated_url)
    assert behind.returncode == 4
    assert not_migrated_message().fullmatch(the_error(behind, "migrate"))
    assert behind.stdout == ""

    current = migrate("--check", url=subprocess_env["DATABASE_URL"])
    assert (current.returncode, current.stdout, current.stderr) == (0, "", "")


# -- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("garbage", "no scheme"),
        (f"mysql://ops:{PASSWORD}@db:3306/tarsy", "an unrecognised scheme 'mysql'"),
    ],
)
@pytest.mark.parametrize("command", ["cleanup_status", "migrate", "check"])
def test_bad_database_url_names_the_scheme_only(url: str, said: str, command: str) -> None:
    done = manage(command, env=base_env(DATABASE_URL=url))
    assert done.returncode == 5
    assert the_error(done, command) == (
        f"DATABASE_URL has {said}: use postgres://USER:PASSWORD@HOST:PORT/NAME "
        "or sqlite:////absolute/path.sqlite3"
    )
    assert PASSWORD not in done.stderr


def test_unreadable_config(subprocess_env: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "tarsy.yaml"
    env = base_env(DATABASE_URL=subprocess_env["DATABASE_URL"])
    done = manage("cleanup_status", env=dict(env, TARSY_CONFIG=str(missing)))
    assert done.returncode == 2
    assert the_error(done, "cleanup_status") == (
        f"invalid configuration: config file '{missing}' does not exist"
    )
    done = manage("run_cleanup", "--once", "--config", str(tmp_path), env=env)
    assert done.returncode == 2
    assert the_error(done, "run_cleanup") == (
        f"invalid configuration: config file '{tmp_path}' is a directory"
    )


def test_missing_argument_says_the_usage() -> None:
    done = manage("restore_session", env=base_env(DATABASE_URL="sqlite://:memory:"))
    assert done.returncode == 2
    assert the_error(done, "restore_session") == (
        "invalid arguments: the following arguments are required: id "
        "(usage: manage.py restore_session [-h] [--hold-days N] [--by NAME] [--dry-run] "
        "[--config PATH] id [id ...])"
    )


# -- version and verbosity ---------------------------------------------------------------------


def test_version_is_the_projects() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    env = base_env(DATABASE_URL="sqlite://:memory:")
    for args in (["--version"], ["version"], ["run_cleanup", "--version"]):
        done = manage(*args, env=env)
        assert (done.returncode, done.stdout, done.stderr) == (0, f"tarsy-ops {version}\n", "")


def test_verbosity_0_quiets_informational_output(
    subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    env = dict(subprocess_env, LOG_FORMAT="text", TARSY_HEARTBEAT_FILE=str(tmp_path / "beat"))
    config = tmp_path / "tarsy.yaml"
    (tmp_path / "logs").mkdir()  # a missing directory is a warning, which -v 0 still shows
    config.write_text(f"system:\n  streaming_logs:\n    base_dir: {tmp_path / 'logs'}\n")
    run = ["run_cleanup", "--once", "--config", str(config)]

    loud = manage(*run, env=env)
    assert loud.returncode == 0, loud.stderr
    assert "INFO    retention.scheduler: retention success" in loud.stderr

    quiet = manage(*run, "-v", "0", env=env)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")

    session = make_session(deleted_at=timezone.now())
    restored = manage("restore_session", "-v", "0", session.pk, env=env)
    assert (restored.returncode, restored.stdout, restored.stderr) == (0, "", "")
    session.refresh_from_db()
    assert session.deleted_at is None
    # Errors are not informational: -v 0 still says them.
    unknown = manage("restore_session", "-v", "0", "ghost", env=env)
    assert unknown.returncode == 1
    assert unknown.stdout == ""
    assert "ERROR   tarsy.command: no session with id ghost" in unknown.stderr
