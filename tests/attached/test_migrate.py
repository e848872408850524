"""``migrate`` attached to TARSy's database: TARSy's tables stay exactly as they were, and
TARSy Ops' own tables go into a schema of their own."""

from __future__ import annotations

import pytest

from tests.attached.conftest import AttachedDatabase, one_line, requires_postgresql
from tests.tarsy_schema import RELEASE_TABLES, RELEASES, diff_catalogs

pytestmark = [requires_postgresql, pytest.mark.slow]

OPS_TABLES = {
    "auth_group",
    "auth_group_permissions",
    "auth_permission",
    "auth_user",
    "auth_user_groups",
    "auth_user_user_permissions",
    "cleanup_runs",
    "django_admin_log",
    "django_content_type",
    "django_migrations",
    "django_session",
    "session_holds",
}


@pytest.mark.parametrize("release", RELEASES)
def test_migrate_never_touches_tarsys_tables(empty_database: AttachedDatabase, release) -> None:
    db = empty_database
    db.build(release)
    before, public_before = db.catalog(), db.relations("public")
    assert set(before.tables) == RELEASE_TABLES[release]

    done = db.manage("migrate", "--no-input")
    assert done.returncode == 0, one_line(done)
    assert "Created schema tarsy_ops" in done.stdout

    assert diff_catalogs(before, db.catalog()) == []
    assert db.relations("public") == public_before  # no table, index or sequence added
    assert set(db.catalog("tarsy_ops").tables) == OPS_TABLES
    # Holds name a session without a foreign-key constraint: one would put triggers on TARSy's
    # alert_sessions.
    assert not db.query(
        "SELECT conname FROM pg_constraint WHERE confrelid = 'public.alert_sessions'::regclass "
        "AND connamespace = 'tarsy_ops'::regnamespace"
    )
    # TARSy's models' migrations are recorded as applied (so nothing is pending) ...
    applied = db.query("SELECT app, name FROM tarsy_ops.django_migrations")
    assert ("alert_sessions", "0001_initial") in applied
    assert db.manage("migrate", "--check").returncode == 0
    # ... and their permissions exist for the admin.
    codenames = {row[0] for row in db.query("SELECT codename FROM tarsy_ops.auth_permission")}
    assert {
        "restore_alertsession",
        "soft_delete_alertsession",
        "hold_alertsession",
        "view_stage",
        "view_sessionhold",
    } <= codenames

    again = db.manage("migrate", "--no-input")
    assert again.returncode == 0 and "No migrations to apply" in again.stdout, one_line(again)
    assert diff_catalogs(before, db.catalog()) == []


def test_a_schema_of_another_name(empty_database: AttachedDatabase) -> None:
    db = empty_database
    db.build("phase11")
    done = db.manage("migrate", "--no-input", TARSY_OPS_SCHEMA="ops_elsewhere")
    assert done.returncode == 0, one_line(done)
    assert "cleanup_runs" in db.catalog("ops_elsewhere").tables
    assert not db.catalog("tarsy_ops").tables


def test_migrate_check_and_plan_create_nothing(empty_database: AttachedDatabase) -> None:
    db = empty_database
    db.build("phase11")
    public = db.relations("public")
    assert db.manage("migrate", "--check").returncode != 0  # everything is unapplied
    assert db.manage("migrate", "--plan").returncode == 0
    assert db.query("SELECT nspname FROM pg_namespace WHERE nspname = 'tarsy_ops'") == []
    assert db.relations("public") == public
