"""A BaseCommand whose errors go through structured logging, and which loads tarsy.yaml.

With ``LOG_FORMAT=json`` every line on stderr must be JSON, including the error a command
exits with and a bad flag. Django writes both as plain text; this base logs them instead.
Under ``call_command`` (tests, other code) errors are raised as usual.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tarsy_project.checks import config_check_skipped
from tarsy_project.config import ConfigError, TarsyConfig, load_config_with_warnings

log = logging.getLogger("tarsy.command")


class StructuredCommand(BaseCommand):
    """Base for the project's commands: exit with a logged error, not a text traceback."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        if getattr(self, "_called_from_command_line", False):

            def error(message: str) -> None:
                log.error(
                    "invalid arguments: %s",
                    message,
                    extra={"command": subcommand, "error": message},
                )
                sys.exit(2)

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
            raise CommandError(f"invalid configuration: {exc}") from None
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

    def run_from_argv(self, argv: list[str]) -> None:
        self._called_from_command_line = True
        self._subcommand = argv[1] if len(argv) > 1 else ""
        super().run_from_argv(argv)

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute(*args, **options)
        except CommandError as exc:
            if not getattr(self, "_called_from_command_line", False) or options.get("traceback"):
                raise
            log.error(
                "%s", exc, extra={"command": getattr(self, "_subcommand", ""), "error": str(exc)}
            )
            sys.exit(exc.returncode)
