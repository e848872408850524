"""``manage.py stream_session <session_id>``: standard input into a session's log file.

For operators, and for tests across real processes: the file is written through
:class:`~streaming.logger.StreamingLogger`, so it is locked while input is being read (the
sweeper keeps it) and completed at end of input (kept for the retention window).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from django.core.management.base import CommandError, CommandParser

from streaming.files import InvalidSessionId, validate_session_id
from streaming.logger import StreamingLogger
from tarsy_project.management import StructuredCommand

log = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024


class _Terminated(Exception):
    """Raised from the SIGTERM handler so buffered input is flushed before exiting."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """SIGTERM raises :class:`_Terminated` inside (only the main thread can handle signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _reader(options: dict[str, Any]) -> Callable[[int], bytes]:
    """Binary reads of the input: the ``stdin`` option (in-process callers) or standard input."""
    stream = options.get("stdin") or sys.stdin
    stream = getattr(stream, "buffer", stream)  # binary-safe
    # read1 returns what one read of the pipe gives, so data streams as it arrives.
    return getattr(stream, "read1", stream.read)


class Command(StructuredCommand):
    help = (
        "Copy standard input into <base_dir>/<session_id>.log through the streaming logger, "
        "and complete the session at end of input."
    )
    # Needs neither the database nor the system checks: start fast, touch nothing else.
    requires_system_checks: list[str] = []
    # call_command(..., stdin=<binary stream>) for in-process callers.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("session_id", help="1-128 characters: letters, digits, - _ .")
        self.add_config_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            session_id = validate_session_id(options["session_id"])
        except InvalidSessionId as exc:
            raise CommandError(str(exc)) from None
        config = self.load_tarsy_config(options).streaming_logs
        read = _reader(options)
        logger = StreamingLogger(config)
        if not config.enabled:
            log.warning(
                "streaming logs are disabled in the configuration; input is discarded",
                extra={"session_id": session_id},
            )
        try:
            with _sigterm_raises():
                while chunk := read(CHUNK_SIZE):
                    logger.append(session_id, chunk)
                logger.complete_session(session_id)
        except _Terminated:
            raise CommandError(
                f"terminated; what was read so far is in the file of session {session_id}",
                returncode=143,
            ) from None
        except KeyboardInterrupt:
            raise CommandError(
                f"interrupted; what was read so far is in the file of session {session_id}",
                returncode=130,
            ) from None
        except OSError as exc:
            raise CommandError(f"cannot stream session {session_id}: {exc}") from None
        finally:
            logger.close()
        if logger.lost_bytes:
            raise CommandError(
                f"{logger.lost_bytes} bytes of session {session_id} could not be written"
            )
