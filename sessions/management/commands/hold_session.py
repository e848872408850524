"""``manage.py hold_session hold|release|list``: keep sessions out of retention, and let go.

A thin entry point over ``sessions.services.holds``: it parses the action, ids and options and
prints one line per id (an unknown id is an error line on stderr and exit status 1; the known
ones are still held or released). ``list`` prints the holds in force, or every hold with
``--all``, as a table or JSON.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from sessions import selectors, wording
from sessions.management.operator import acting_user, add_by_argument, days, unknown_ids
from sessions.services import holds
from sessions.services.results import OperatorResult
from tarsy_project.management import StructuredCommand
from tarsy_project.text_output import json_value, table

HOLD, RELEASE, LIST = "hold", "release", "list"
COLUMNS = ("session_id", "placed_by", "placed_at", "until", "reason")
HISTORY = ("released_by", "released_at")


def hold_end(text: str) -> datetime:
    """``--until``: a day (``2027-01-05``: the hold ends as that day begins, UTC) or a time
    with an offset (``2027-01-05T12:00:00+02:00``; without one, UTC)."""
    try:
        return holds.until_day(date.fromisoformat(text))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"--until: not a date or time: {text!r} (use 2027-01-05 or 2027-01-05T12:00:00Z)",
            returncode=2,
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(StructuredCommand):
    help = (
        "Hold alert sessions out of retention (no soft delete, no purge while the hold lasts), "
        "release them, or list the holds. hold ID... (--until DATE | --days N | --no-end) "
        "--reason TEXT; release ID...; list [--all] [--format json]. A restore "
        "(restore_session, the admin) holds the sessions it brings back by itself."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=(HOLD, RELEASE, LIST))
        parser.add_argument("ids", nargs="*", metavar="id", help="session id(s) (hold, release)")
        end = parser.add_mutually_exclusive_group()
        end.add_argument("--until", metavar="DATE", help="hold until this day (UTC) or time")
        end.add_argument("--days", type=days(minimum=1), metavar="N", help="hold for N days")
        end.add_argument("--no-end", action="store_true", help="hold until released")
        parser.add_argument("--reason", help="why (an incident, a legal hold); required to hold")
        add_by_argument(parser)
        parser.add_argument("--dry-run", action="store_true", help="say what would change")
        parser.add_argument("--all", action="store_true", help="list: ended holds too")
        parser.add_argument("--format", choices=("text", "json"), help="list: text or json")

    def handle(self, *args: Any, **options: Any) -> None:
        action, ids = options["action"], options["ids"]
        self.unknown: list[str] = []
        if action == LIST:
            if ids:
                raise CommandError("list takes no session ids", returncode=2)
            return self.list_holds(
                include_ended=options["all"], as_json=options["format"] == "json"
            )
        if not ids:
            raise CommandError(f"{action} needs at least one session id", returncode=2)
        if action == HOLD:
            self.report_hold(ids, self.hold(ids, options), dry_run=options["dry_run"])
        else:
            result = holds.release_holds(
                session_ids=ids, released_by=acting_user(options["by"]), dry_run=options["dry_run"]
            )
            self.report_release(ids, result, dry_run=options["dry_run"])
        if self.unknown:
            raise unknown_ids(self.unknown)

    def hold(self, ids: list[str], options: dict[str, Any]) -> holds.HoldResult:
        now = timezone.now()
        if options["until"]:
            until: datetime | None = hold_end(options["until"])
        elif options["days"]:
            until = now + timedelta(days=options["days"])
        elif options["no_end"]:
            until = None
        else:
            raise CommandError("hold needs --until DATE, --days N or --no-end", returncode=2)
        try:
            return holds.place_hold(
                session_ids=ids,
                until=until,
                reason=options["reason"] or "",
                placed_by=acting_user(options["by"]),
                now=now,
                dry_run=options["dry_run"],
            )
        except holds.HoldError as exc:
            raise CommandError(f"{exc} (nothing was changed)", returncode=2) from None

    def report_hold(self, ids: list[str], result: holds.HoldResult, *, dry_run: bool) -> None:
        """One line per id, in the order given."""
        for session_id in dict.fromkeys(ids):
            if session_id in result.changed:
                done = "would hold" if dry_run else "held"
                kept = wording.kept(result.held_until[session_id])
                self.stdout.write(f"{done} {session_id}; {kept}")
            elif session_id in result.unchanged:
                kept = wording.kept(result.held_until[session_id])
                self.stdout.write(f"{session_id} is already held ({kept}; nothing to do)")
            else:
                self.say_unknown(session_id)

    def report_release(self, ids: list[str], result: OperatorResult, *, dry_run: bool) -> None:
        """One line per id, in the order given."""
        for session_id in dict.fromkeys(ids):
            if session_id in result.changed:
                done = "would release" if dry_run else "released"
                self.stdout.write(f"{done} {session_id}; {wording.RELEASED}")
            elif session_id in result.unchanged:
                self.stdout.write(f"{session_id} is not held (nothing to do)")
            else:
                self.say_unknown(session_id)

    def say_unknown(self, session_id: str) -> None:
        self.unknown.append(session_id)  # named in the one error the command exits with

    def list_holds(self, *, include_ended: bool, as_json: bool) -> None:
        columns = (*COLUMNS, *HISTORY) if include_ended else COLUMNS
        found = selectors.listed_holds(include_ended=include_ended, now=timezone.now())
        rows = list(found.values(*columns))
        if as_json:
            listed = [{k: json_value(v) for k, v in row.items()} for row in rows]
            self.stdout.write(json.dumps({"holds": listed}, indent=2))
        elif rows:
            self.stdout.write("\n".join(table(rows)))
        else:
            self.stdout.write("no holds" if include_ended else "no session is held")
