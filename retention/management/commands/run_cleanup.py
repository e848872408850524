"""``manage.py run_cleanup``: the cleanup sidecar."""

from __future__ import annotations

from argparse import ArgumentTypeError
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from retention import preview
from retention.heartbeat import Heartbeat
from retention.listeners import CleanupListener
from retention.metrics.server import MetricsUnavailable, start_metrics
from retention.sidecar import run_sidecar
from tarsy_project.config import load_config
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
        "then each on its interval, until SIGTERM or SIGINT; SIGHUP reloads the configuration. "
        "With --once --dry-run --list, print which sessions each step would soft-delete, purge "
        "or time out, and change nothing."
    )
    # An unreachable or unmigrated database stops it at start: one line, exit 3 or 4.
    requires_migrations_checks = True

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

    def cleanup_listeners(self, *, once: bool) -> list[CleanupListener]:
        """Who is told about the jobs and their runs: the metrics, served by the sidecar's loop
        when ``METRICS_PORT`` is set (a port that cannot be served ends the command at once).
        A ``--once`` run serves none: nothing would scrape a process that ends after one pass,
        and beside a running sidecar the port is the sidecar's."""
        if once or settings.METRICS_PORT is None:
            return []
        try:
            return [start_metrics(addr=settings.METRICS_ADDR, port=settings.METRICS_PORT)]
        except MetricsUnavailable as exc:
            raise CommandError(str(exc), returncode=1) from None

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"] or options["limit"] or options["format"]:
            return self.list_changes(options)
        config = self.load_tarsy_config(options)
        source = options.get("config") or settings.TARSY_CONFIG
        ok = run_sidecar(
            config,
            once=options["once"],
            dry_run=options["dry_run"],
            heartbeat=Heartbeat(settings.TARSY_HEARTBEAT_FILE),
            listeners=self.cleanup_listeners(once=options["once"]),
            load_config=lambda: load_config(source),
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
