"""``manage.py run_cleanup``: the cleanup sidecar."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from retention.heartbeat import Heartbeat
from retention.sidecar import run_sidecar
from tarsy_project.management import StructuredCommand


class Command(StructuredCommand):
    help = (
        "Run the retention and streaming-log sweep jobs: every job at start, then each on its "
        "interval, until SIGTERM or SIGINT."
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

    def handle(self, *args: Any, **options: Any) -> None:
        config = self.load_tarsy_config(options)
        ok = run_sidecar(
            config,
            once=options["once"],
            dry_run=options["dry_run"],
            heartbeat=Heartbeat(settings.TARSY_HEARTBEAT_FILE),
        )
        if not ok:
            raise CommandError("one or more cleanup jobs failed", returncode=1)
