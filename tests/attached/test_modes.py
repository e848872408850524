"""TARSY_DB_MODE and TARSY_OPS_SCHEMA: the two modes, their settings, and bad values."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from tarsy_project.database import ATTACHED, STANDALONE, attach, database_mode
from tests.attached.conftest import REPO

POSTGRES = {"ENGINE": "django.db.backends.postgresql", "NAME": "tarsy"}


def test_standalone_is_the_default_and_leaves_the_database_as_it_is() -> None:
    mode = database_mode({})
    assert (mode.name, mode.ops_schema, mode.attached) == (STANDALONE, "tarsy_ops", False)
    assert attach(dict(POSTGRES), mode) == POSTGRES
    sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": "x.sqlite3"}
    assert attach(dict(sqlite), mode) == sqlite


def test_attached_puts_tarsy_ops_schema_first_on_the_search_path() -> None:
    mode = database_mode({"TARSY_DB_MODE": " Attached ", "TARSY_OPS_SCHEMA": "ops_2"})
    assert (mode.name, mode.ops_schema) == (ATTACHED, "ops_2")
    database = attach({**POSTGRES, "OPTIONS": {"options": "-c work_mem=8MB"}}, mode)
    assert database["OPTIONS"]["options"] == "-c work_mem=8MB -c search_path=ops_2,public"
    assert attach(dict(POSTGRES), database_mode({"TARSY_DB_MODE": "attached"}))["OPTIONS"] == {
        "options": "-c search_path=tarsy_ops,public"
    }


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"TARSY_DB_MODE": "embedded"}, "TARSY_DB_MODE: unknown mode 'embedded'"),
        ({"TARSY_OPS_SCHEMA": "public"}, "TARSY_OPS_SCHEMA: 'public' is not a schema"),
        ({"TARSY_OPS_SCHEMA": "pg_ops"}, "TARSY_OPS_SCHEMA: 'pg_ops' is not a schema"),
        ({"TARSY_OPS_SCHEMA": "ops;drop"}, "TARSY_OPS_SCHEMA: 'ops;drop' is not a schema"),
        ({"TARSY_OPS_SCHEMA": "Ops"}, "TARSY_OPS_SCHEMA: 'Ops' is not a schema"),
        ({"TARSY_OPS_SCHEMA": "x" * 64}, "is not a schema"),
    ],
)
def test_bad_values_are_one_clear_line(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        database_mode(environ)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_attached_needs_postgresql() -> None:
    sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": "x.sqlite3"}
    with pytest.raises(ImproperlyConfigured, match="TARSy's PostgreSQL database, not sqlite3$"):
        attach(sqlite, database_mode({"TARSY_DB_MODE": "attached"}))


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"TARSY_DB_MODE": "sideways"}, "TARSY_DB_MODE: unknown mode 'sideways'"),
        (
            {"TARSY_DB_MODE": "attached", "DATABASE_URL": "sqlite:////tmp/x.sqlite3"},
            "needs DATABASE_URL to be TARSy's PostgreSQL database, not sqlite3",
        ),
    ],
)
def test_a_command_with_a_bad_mode_fails_naming_it(environ: dict[str, str], message: str) -> None:
    env = {"PATH": "/usr/bin:/bin", "SECRET_KEY": "x", **environ}
    done = subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "check"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert message in done.stderr
