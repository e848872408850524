"""What the operator commands share: who is acting (recorded on holds), numbers of days,
and how they end on unknown ids."""

from __future__ import annotations

import getpass
from argparse import ArgumentTypeError
from collections.abc import Callable

from django.core.management.base import CommandError, CommandParser

from tarsy_project.config_fields import MAX_DAYS
from tarsy_project.exits import ExitCode

UNKNOWN_USER = "command line"


def add_by_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--by",
        metavar="NAME",
        help="who is acting, recorded with the hold (default: the operating-system user)",
    )


def acting_user(by: str | None) -> str:
    """``--by``, else the operating-system user (a container's uid may have no name)."""
    if by and by.strip():
        return by.strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return UNKNOWN_USER


def days(*, minimum: int) -> Callable[[str], int]:
    """An argument type: a whole number of days from ``minimum`` to MAX_DAYS."""

    def number_of_days(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ArgumentTypeError(f"not a whole number of days: {text!r}") from None
        if not minimum <= value <= MAX_DAYS:
            raise ArgumentTypeError(f"must be {minimum} to {MAX_DAYS} days, not {value}")
        return value

    return number_of_days


def unknown_ids(ids: list[str]) -> CommandError:
    """The one error a command exits with (status 1) naming every unknown id: said once, on
    stderr (as JSON with ``LOG_FORMAT=json``), after the lines of the known ids."""
    noun = "session with id" if len(ids) == 1 else "sessions with ids"
    return CommandError(f"no {noun} {', '.join(ids)}", returncode=ExitCode.FAILURE)
