"""``manage.py cleanup_status``: the operator's first look, and the sidecar's probe."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from retention.heartbeat import Heartbeat
from retention.selectors import health_problems, latest_runs
from retention.status import heartbeat_verdict, runs_table
from tarsy_project.management import StructuredCommand


class Command(StructuredCommand):
    help = (
        "Show the last run of each cleanup job on each host; exit 1 when the latest retention "
        "run failed or is older than twice cleanup_interval, or a job's last run failed. "
        "With --liveness, check only the heartbeat file (no database)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_config_argument(parser)
        parser.add_argument(
            "--liveness",
            action="store_true",
            help="only check that run_cleanup's heartbeat file is fresh (for a liveness probe)",
        )
        parser.add_argument(
            "--max-age",
            type=float,
            default=300.0,
            metavar="SECONDS",
            help="oldest acceptable heartbeat for --liveness (default 300)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["liveness"]:
            heartbeat = Heartbeat(settings.TARSY_HEARTBEAT_FILE)
            alive, verdict = heartbeat_verdict(heartbeat, max_age=options["max_age"])
            if not alive:
                raise CommandError(verdict, returncode=1)
            self.stdout.write(verdict)
            return
        config = self.load_tarsy_config(options)
        self.check_migrations()  # the runs table needs a reachable, migrated database
        now = timezone.now()
        runs = latest_runs()
        for line in runs_table(runs, now):
            self.stdout.write(line)
        problems = health_problems(
            runs, now=now, retention_interval=config.retention.cleanup_interval
        )
        for problem in problems:
            self.stdout.write(f"PROBLEM {problem.job}: {problem.reason}")
        if problems:
            raise CommandError(f"{len(problems)} cleanup problem(s)", returncode=1)
        self.stdout.write("OK")
