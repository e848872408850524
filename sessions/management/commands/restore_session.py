"""``manage.py restore_session <id> [<id> ...]``: undo a soft delete, and hold the session.

A thin entry point: it parses the ids and calls ``sessions.services.operators.restore_sessions``,
which decides per id. Every id gets one line, so an operator restoring a list sees exactly which
ones came back and until when retention leaves them alone. Unknown ids are one error naming
them all (exit status 1); the known ones given in the same call are still restored. A session
that is already live is reported and counts as success.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from sessions import wording
from sessions.management.operator import acting_user, add_by_argument, days, unknown_ids
from sessions.services import operators
from tarsy_project.management import StructuredCommand


class Command(StructuredCommand):
    help = (
        "Restore soft-deleted alert sessions by id (clears deleted_at; their child rows were "
        "never touched, so each session comes back whole). A restored session is then held: "
        "kept out of retention (no soft delete, no purge) for system.retention."
        "restore_hold_days (default 30) or --hold-days, so the next cleanup run does not "
        "soft-delete it again while it is still past retention. Release the hold earlier with "
        "hold_session release. Exits 1 if any id is unknown."
    )
    requires_migrations_checks = True

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="+", metavar="id", help="session id(s) to restore")
        parser.add_argument(
            "--hold-days",
            type=days(minimum=0),
            metavar="N",
            help="keep each restored session out of retention for N days (default: "
            "system.retention.restore_hold_days of tarsy.yaml; 0: no hold, and the next "
            "cleanup run soft-deletes it again if it is still past retention)",
        )
        add_by_argument(parser)
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="say what would be restored and held, and change nothing",
        )
        self.add_config_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        hold_days = options["hold_days"]
        if hold_days is None:
            hold_days = self.load_tarsy_config(options).retention.restore_hold_days
        dry_run: bool = options["dry_run"]
        result = operators.restore_sessions(
            ids=options["ids"],
            hold_days=hold_days,
            placed_by=acting_user(options["by"]),
            dry_run=dry_run,
        )
        changed, unchanged = set(result.changed), set(result.unchanged)
        # One line per known id, in the order given (duplicates reported once, as the service
        # does); the unknown ones in the one error the command exits with.
        for session_id in dict.fromkeys(str(i) for i in options["ids"]):
            if session_id in changed:
                verb = "would restore" if dry_run else "restored"
                self.stdout.write(f"{verb} {session_id}; {_hold(result, session_id)}")
            elif session_id in unchanged:
                self.stdout.write(f"{session_id} is not deleted (nothing to do)")
        if result.unknown:
            raise unknown_ids(result.unknown)


def _hold(result: operators.RestoreResult, session_id: str) -> str:
    if session_id in result.held_until:
        return wording.kept(result.held_until[session_id])
    return wording.NOT_HELD
