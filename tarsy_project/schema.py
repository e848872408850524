"""Is the database's schema as new as the code? One answer for every command and for
``migrate --check``: the unapplied migrations, named, and exit code 4 (``ExitCode.NOT_MIGRATED``).
"""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from tarsy_project.exits import ExitCode, ExpectedFailure

# How many unapplied migrations the one-line message names before it says "and N more".
SHOWN = 3


def unapplied_migrations(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """``app_label.name`` of every migration ``migrate`` would apply, in order."""
    executor = MigrationExecutor(connections[using])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def not_migrated(unapplied: list[str]) -> ExpectedFailure:
    """The failure that names what is missing and what to run."""
    named = ", ".join(unapplied[:SHOWN])
    if len(unapplied) > SHOWN:
        named += f" and {len(unapplied) - SHOWN} more"
    return ExpectedFailure(
        f"database is not migrated: {len(unapplied)} unapplied migration(s) ({named}); "
        "run `manage.py migrate`",
        exit_code=ExitCode.NOT_MIGRATED,
    )


def require_migrated(using: str = DEFAULT_DB_ALIAS) -> None:
    """Raise :func:`not_migrated` when migrations are unapplied (connecting may fail first)."""
    unapplied = unapplied_migrations(using)
    if unapplied:
        raise not_migrated(unapplied)


class MigrateCheckMixin:
    """For a ``migrate`` command: ``--check`` names the unapplied migrations in one line and
    exits 4, where Django's exits 1 saying nothing. Put it first among the bases."""

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("check_unapplied") and not options.get("plan"):
            require_migrated(options.get("database") or DEFAULT_DB_ALIAS)
            return
        super().handle(*args, **options)  # type: ignore[misc]
