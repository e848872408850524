"""``manage.py run_cleanup``: the cleanup sidecar."""

from __future__ import annotations

from argparse import ArgumentTypeError
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from retention import preview
from retention.heartbeat import Heartbeat
from retention.sidecar import run_sidecar
from tarsy_project.management import StructuredCommand

DEFAULT_LIST_LIMIT = 20


def list_limit(text: str) -> int:
    """``--limit``: how many rows each step lists, at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise ArgumentTypeError(f"must be at least 1, not {value}")
    return value


class Command(StructuredCommand):
    help = (
        "Run the retention, orphan detection and streaming-log sweep jobs: every job at start, "
        "then each on its interval, until SIGTERM or SIGINT. With --once --dry-run --list, "
        "print which sessions each step would soft-delete, purge or time out, and change "
        "nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="run every job once; exit 1 if any failed"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would change; change nothing"
        )
        parser.add_argument(
            "--list",
            action="store_true",
            help="with --once --dry-run: print, per step, the sessions it would change (id, "
            "status, created and completed times, alert type) and the counts of the others",
        )
        parser.add_argument(
            "--limit",
            type=list_limit,
            metavar="N",
            help=f"with --list: at most N sessions per step (default {DEFAULT_LIST_LIMIT}), "
            "then a count of the rest",
        )
        parser.add_argument(
            "--format",
            choices=preview.FORMATS,
            help="with --list: text for people (default) or json for scripts",
        )
        self.add_config_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"] or options["limit"] or options["format"]:
            return self.list_changes(options)
        config = self.load_tarsy_config(options)
        ok = run_sidecar(
            config,
            once=options["once"],
            dry_run=options["dry_run"],
            heartbeat=Heartbeat(settings.TARSY_HEARTBEAT_FILE),
        )
        if not ok:
            raise CommandError("one or more cleanup jobs failed", returncode=1)

    def list_changes(self, options: dict[str, Any]) -> None:
        if not (options["list"] and options["once"] and options["dry_run"]):
            raise CommandError(
                "--list, --limit and --format go together with --once --dry-run "
                "(run_cleanup --once --dry-run --list)",
                returncode=2,
            )
        config = self.load_tarsy_config(options)
        listing = preview.list_changes(config, limit=options["limit"] or DEFAULT_LIST_LIMIT)
        self.stdout.write(preview.render(listing, options["format"] or preview.TEXT))
