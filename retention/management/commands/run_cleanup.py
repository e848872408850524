"""``manage.py run_cleanup``: the cleanup sidecar."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from retention.heartbeat import Heartbeat
from retention.listeners import CleanupListener
from retention.metrics.server import MetricsUnavailable, start_metrics
from retention.sidecar import run_sidecar
from tarsy_project.config import load_config
from tarsy_project.management import StructuredCommand


class Command(StructuredCommand):
    help = (
        "Run the retention and streaming-log sweep jobs: every job at start, then each on its "
        "interval, until SIGTERM or SIGINT; SIGHUP reloads the configuration."
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
