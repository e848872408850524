"""``manage.py``'s entry point: Django's command line, with TARSy Ops' version and failures.

What Django's ``execute_from_command_line`` cannot do for the project's operators happens
here: ``--version`` prints TARSy Ops' version; settings that cannot load (a bad DATABASE_URL)
and the usual failures of Django's own commands (``migrate`` against a database that is down)
are one log line and an exit code (:mod:`tarsy_project.failures`), not a traceback; and
``runserver`` refuses to start without SECRET_KEY, as gunicorn does.
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.management import execute_from_command_line

from tarsy_project.failures import exit_on_failure
from tarsy_project.security import require_secret_key
from tarsy_project.version import version_line

# Commands that serve the admin: they need SECRET_KEY before they answer anything.
WEB_COMMANDS = frozenset({"runserver"})


def main(argv: list[str]) -> None:
    """Run ``manage.py`` with ``argv``."""
    subcommand = argv[1] if len(argv) > 1 else "help"
    if argv[1:] == ["--version"] or subcommand == "version":
        sys.stdout.write(version_line() + "\n")
        return
    with exit_on_failure(subcommand):
        settings.INSTALLED_APPS  # noqa: B018 - loads the settings: a bad one is one line here
        if subcommand in WEB_COMMANDS:
            require_secret_key()
        execute_from_command_line(argv)
