"""``manage.py restore_session <id> [<id> ...]``: undo a soft delete.

A thin entry point: it parses the ids and calls ``sessions.services.operators.restore_sessions``,
which decides per id. Every id gets one line, so an operator restoring a list sees exactly which
ones came back. Unknown ids are one error naming them all (exit status 1); the known ones given
in the same call are still restored. A session that is already live is reported and counts as
success.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from sessions.services import operators
from tarsy_project.exits import ExitCode
from tarsy_project.management import StructuredCommand


class Command(StructuredCommand):
    help = (
        "Restore soft-deleted alert sessions by id (clears deleted_at; their child rows were "
        "never touched, so each session comes back whole). Exits 1 if any id is unknown."
    )
    requires_migrations_checks = True

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="+", metavar="id", help="session id(s) to restore")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="say what would be restored and change nothing",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run: bool = options["dry_run"]
        result = operators.restore_sessions(ids=options["ids"], dry_run=dry_run)
        changed, unchanged, unknown = set(result.changed), set(result.unchanged), result.unknown
        # One line per known id, in the order given (duplicates reported once, as the service
        # does); the unknown ones in the one error the command exits with.
        for session_id in dict.fromkeys(str(i) for i in options["ids"]):
            if session_id in changed:
                verb = "would restore" if dry_run else "restored"
                self.stdout.write(f"{verb} {session_id}")
            elif session_id in unchanged:
                self.stdout.write(f"{session_id} is not deleted (nothing to do)")
        if unknown:
            noun = "session with id" if len(unknown) == 1 else "sessions with ids"
            raise CommandError(f"no {noun} {', '.join(unknown)}", returncode=ExitCode.FAILURE)
