"""``manage.py cleanup_status``: the operator's first look, and the sidecar's probe."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from retention.heartbeat import Heartbeat
from retention.services import health_problems, latest_runs
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
            self.check_liveness(options["max_age"])
            return
        config = self.load_tarsy_config(options)
        now = timezone.now()
        runs = latest_runs()
        self.print_table(runs, now)
        problems = health_problems(
            runs, now=now, retention_interval=config.retention.cleanup_interval
        )
        if problems:
            for problem in problems:
                self.stdout.write(f"PROBLEM {problem.job}: {problem.reason}")
            raise CommandError(f"{len(problems)} cleanup problem(s)", returncode=1)
        self.stdout.write("OK")

    def check_liveness(self, max_age: float) -> None:
        heartbeat = Heartbeat(settings.TARSY_HEARTBEAT_FILE)
        age = heartbeat.age_seconds()
        if age is None:
            raise CommandError(f"no heartbeat file at {heartbeat.path}", returncode=1)
        if age > max_age:
            raise CommandError(
                f"heartbeat {heartbeat.path} is {age:.0f}s old (limit {max_age:.0f}s)",
                returncode=1,
            )
        self.stdout.write(f"alive: heartbeat {age:.0f}s old")

    def print_table(self, runs: list, now: Any) -> None:
        header = ("JOB", "HOST", "STARTED (UTC)", "AGO", "OUTCOME", "DURATION", "COUNTS")
        rows = [header]
        for run in runs:
            ago = int((now - run.started_at).total_seconds())
            counts = " ".join(f"{k}={v}" for k, v in run.counts.items()) or "-"
            rows.append(
                (
                    run.job,
                    run.host,
                    f"{run.started_at:%Y-%m-%d %H:%M:%S}",
                    f"{ago}s",
                    run.outcome,
                    f"{run.duration_ms}ms",
                    counts,
                )
            )
        if len(rows) == 1:
            self.stdout.write("no cleanup runs recorded")
            return
        widths = [max(len(str(row[i])) for row in rows) for i in range(len(header) - 1)]
        for row in rows:
            cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)]
            self.stdout.write("  ".join([*cells, str(row[-1])]).rstrip())
