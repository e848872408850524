"""A BaseCommand whose errors go through structured logging, one line and a distinct exit code.

With ``LOG_FORMAT=json`` every line on stderr must be JSON, including the error a command
exits with and a bad flag. Django writes both as plain text; this base logs them instead, and
maps the usual failures (database unreachable, schema not migrated, bad configuration) to one
line and the exit codes of :mod:`tarsy_project.exits`. Under ``call_command`` (tests, other
code) errors are raised as usual.
"""

from __future__ import annotations

import argparse
import io
import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tarsy_project.checks import config_check_skipped
from tarsy_project.config import ConfigError, TarsyConfig, load_config_with_warnings
from tarsy_project.exits import ExitCode
from tarsy_project.failures import Failure, exit_on_failure, report_failure
from tarsy_project.schema import require_migrated
from tarsy_project.version import version_line

log = logging.getLogger("tarsy.command")

# Options every Django command has; left out of the usage line of a bad call (see --help).
_BASE_OPTIONS = frozenset(
    {"--version", "-v", "--settings", "--pythonpath", "--traceback", "--no-color",
     "--force-color", "--skip-checks"}
)  # fmt: skip


def short_usage(parser: argparse.ArgumentParser) -> str:
    """``usage: manage.py <command> [-h] <its own arguments>`` on one line. (argparse has no
    public way to format the usage of some of its actions, hence ``_actions``.)"""
    own = [a for a in parser._actions if not _BASE_OPTIONS & set(a.option_strings)]
    formatter = parser._get_formatter()
    formatter.add_usage(parser.usage, own, parser._mutually_exclusive_groups)
    return " ".join(formatter.format_help().split())


class StructuredCommand(BaseCommand):
    """Base for the project's commands: exit with a logged error, not a text traceback.

    A command that needs a migrated database sets ``requires_migrations_checks = True`` (or
    calls :meth:`check_migrations` where it starts to need one): an unreachable or unmigrated
    database then stops it before it does anything, with one line and exit code 3 or 4.
    """

    def get_version(self) -> str:
        return version_line()

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        if getattr(self, "_called_from_command_line", False):

            def error(message: str) -> None:
                failure = Failure(
                    ExitCode.USAGE, f"invalid arguments: {message} ({short_usage(parser)})"
                )
                report_failure(failure, command=subcommand)
                raise SystemExit(failure.exit_code)

            parser.error = error  # type: ignore[method-assign]
        return parser

    # Set by add_config_argument: the command validates tarsy.yaml itself (see check()).
    loads_tarsy_config = False

    def add_config_argument(self, parser: CommandParser) -> None:
        parser.add_argument("--config", metavar="PATH", help="tarsy.yaml (default: TARSY_CONFIG)")
        self.loads_tarsy_config = True

    @staticmethod
    def load_tarsy_config(options: dict[str, Any]) -> TarsyConfig:
        """``--config``, else ``TARSY_CONFIG``, else the defaults; a bad file exits cleanly.

        Each of the file's warnings (unknown keys) is logged once.
        """
        path = options.get("config") or settings.TARSY_CONFIG
        try:
            loaded = load_config_with_warnings(path)
        except ConfigError as exc:
            raise CommandError(f"invalid configuration: {exc}", returncode=ExitCode.USAGE) from None
        for warning in loaded.warnings:
            log.warning(
                "%s: %s", path, warning, extra={"config_file": str(path), "key": warning.path}
            )
        return loaded.config

    def check(self, *args: Any, **kwargs: Any) -> None:
        """Django's system checks, but not the one of tarsy.yaml when the command loads it.

        Such a command reports a bad file as one clean line itself, and with ``--config`` it
        reads another file than the one the check validates (``TARSY_CONFIG``).
        """
        if not self.loads_tarsy_config:
            return super().check(*args, **kwargs)
        with config_check_skipped():
            return super().check(*args, **kwargs)

    def check_migrations(self) -> None:
        """Stop unless the database is reachable and fully migrated (Django's own check only
        prints a notice and goes on)."""
        require_migrated()

    def run_from_argv(self, argv: list[str]) -> None:
        self._called_from_command_line = True
        self._subcommand = argv[1] if len(argv) > 1 else ""
        super().run_from_argv(argv)

    def execute(self, *args: Any, **options: Any) -> Any:
        if options.get("verbosity") == 0:
            self._quiet(options)
        if not getattr(self, "_called_from_command_line", False) or options.get("traceback"):
            return super().execute(*args, **options)
        with exit_on_failure(getattr(self, "_subcommand", "")):
            return super().execute(*args, **options)

    def _quiet(self, options: dict[str, Any]) -> None:
        """``-v 0``: no informational output, on stdout or in the log; warnings and errors
        still go to stderr. Only a whole process changes its log level."""
        if not options.get("stdout"):
            options["stdout"] = io.StringIO()
        if getattr(self, "_called_from_command_line", False):
            root = logging.getLogger()
            root.setLevel(max(root.level, logging.WARNING))
