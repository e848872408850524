"""``manage.py stream_session <session_id>``: standard input into a session's log file.

For operators, and for tests across real processes: the file is written through
:class:`~streaming.logger.StreamingLogger`, so it is locked while input is being read (the
sweeper keeps it) and completed at end of input (kept for the retention window). SIGTERM,
SIGHUP and SIGINT end it sooner: what was read so far is written, the file is closed but not
completed, and the exit code is 128 + the signal's number (:mod:`streaming.input_stream`).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import CommandError, CommandParser

from streaming.files import InvalidSessionId, validate_session_id
from streaming.input_stream import Stop, chunks, stop_on_signals
from streaming.logger import StreamingLogger
from tarsy_project.management import StructuredCommand

log = logging.getLogger(__name__)


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
        logger = StreamingLogger(config)
        if not config.enabled:
            log.warning(
                "streaming logs are disabled in the configuration; input is discarded",
                extra={"session_id": session_id},
            )
        stop = Stop()
        try:
            with stop_on_signals(stop):
                for chunk in chunks(_binary(options.get("stdin")), stop):
                    logger.append(session_id, chunk)
                if stop.signum is None:
                    logger.complete_session(session_id)
        except OSError as exc:
            raise CommandError(f"cannot stream session {session_id}: {exc}") from None
        finally:
            logger.close()
        if stop.signum is not None:
            # As a shell reports a process the signal killed: 143 for SIGTERM, 129 for SIGHUP.
            raise CommandError(
                f"terminated by {stop.name}; what was read so far is in the file of session "
                f"{session_id}",
                returncode=128 + stop.signum,
            )
        if logger.lost_bytes:
            raise CommandError(
                f"{logger.lost_bytes} bytes of session {session_id} could not be written"
            )


def _binary(stream: Any) -> Any:
    """An in-process caller's ``stdin`` option, binary-safe; None (standard input) if none."""
    return None if stream is None else getattr(stream, "buffer", stream)
