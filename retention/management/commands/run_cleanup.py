"""``manage.py run_cleanup``: the cleanup sidecar (DESIGN §5)."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from retention.heartbeat import Heartbeat
from retention.jobs import build_jobs
from retention.scheduler import CleanupService
from retention.services import host_name
from tarsy_project.config import config_as_dict
from tarsy_project.management import StructuredCommand

log = logging.getLogger("retention.run_cleanup")


class Command(StructuredCommand):
    help = (
        "Run the retention and streaming-log sweep jobs: every job at start, then each on its "
        "interval, until SIGTERM or SIGINT."
    )

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

        stop = threading.Event()

        def request_stop(signum: int, _frame: Any) -> None:
            log.info(
                "stop requested by %s, finishing the current batch",
                signal.Signals(signum).name,
                extra={"signal": signal.Signals(signum).name},
            )
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

        jobs = build_jobs(config)
        service = CleanupService(
            jobs,
            dry_run=options["dry_run"],
            stop=stop,
            heartbeat=Heartbeat(settings.TARSY_HEARTBEAT_FILE),
        )
        log.info(
            "cleanup starting",
            extra={
                "host": host_name(),
                "mode": "once" if options["once"] else "loop",
                "dry_run": options["dry_run"],
                "jobs": [job.name for job in jobs],
                "config": config_as_dict(config),
            },
        )
        if options["once"]:
            ok = service.run_once()
            log.info("cleanup finished", extra={"ok": ok})
            if not ok:
                raise CommandError("one or more cleanup jobs failed", returncode=1)
            return
        service.run_forever()
        log.info("cleanup stopped")
