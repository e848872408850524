"""gunicorn settings for the TARSy Ops admin (copied to /app/gunicorn.conf.py in the image).

Why gunicorn: the admin is a small, synchronous Django WSGI app with a handful of operators;
gunicorn is the standard production WSGI server for Django (pure Python, no compiler in the
image), its master process supervises and replaces hung workers on its own, and it shuts down
gracefully on SIGTERM, which is what Kubernetes and compose send. uWSGI is in maintenance mode
and needs a C build; an ASGI server buys nothing for a WSGI-only admin.

The bind address is on the command line (the image's CMD), everything else is here, so the
image, compose and the tests all run the same settings.
"""

from __future__ import annotations

import logging
import os

from gunicorn import glogging

from tarsy_project.failures import exit_on_failure
from tarsy_project.logging import configure_logging
from tarsy_project.security import require_secret_key

# gthread: a slow client or a long admin request (a purge showing child counts) holds one
# thread, not a whole worker. Two workers survive one crashing; memory stays near 200 MB.
worker_class = "gthread"
workers = 2
threads = 4
# A worker silent this long is killed and replaced by the master.
timeout = 60
# On SIGTERM, requests in flight get this long to finish. The pod's
# terminationGracePeriodSeconds (120) covers preStop (5) + this + the sidecar's last batch.
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak can never grow without bound.
max_requests = 1000
max_requests_jitter = 100
# The worker heartbeat file goes on tmpfs: the root filesystem is read-only in Kubernetes,
# and a disk-backed heartbeat can stall workers.
worker_tmp_dir = "/dev/shm"
# gunicorn >= 25.1 opens a control socket under $HOME by default; nothing here uses it, and
# $HOME is not writable in the container.
control_socket_disable = True
# Access lines are logged (as JSON with LOG_FORMAT=json), see TarsyGunicornLogger.
accesslog = "-"


class TarsyGunicornLogger(glogging.Logger):
    """gunicorn's own lines (boot, workers, access) in the project's format.

    gunicorn installs plain-text handlers on ``gunicorn.error`` and ``gunicorn.access``; this
    removes them and lets both loggers propagate to the root handler that
    ``configure_logging`` sets up from LOG_FORMAT and LOG_LEVEL, so with LOG_FORMAT=json every
    line the web container writes to stderr is one JSON object.
    """

    def setup(self, cfg) -> None:
        super().setup(cfg)
        configure_logging()
        for log in (self.error_log, self.access_log):
            for handler in list(log.handlers):
                if getattr(handler, "_gunicorn", False):
                    log.removeHandler(handler)
            log.propagate = True
        # The level comes from LOG_LEVEL (root logger), not from gunicorn's --log-level.
        self.error_log.setLevel(logging.NOTSET)

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        try:
            atoms = self.atoms(resp, req, environ, request_time)
            status = int(atoms["s"]) if str(atoms["s"]).isdigit() else atoms["s"]
            self.access_log.info(
                "%s %s %s",
                atoms["m"],
                atoms["U"],
                atoms["s"],
                extra={
                    "method": atoms["m"],
                    "path": atoms["U"],
                    "status": status,
                    "duration_ms": round(request_time.total_seconds() * 1000, 1),
                    "bytes": atoms["B"],
                    "remote_addr": atoms["h"],
                    "user_agent": atoms["a"],
                },
            )
        except Exception:
            # A log line must never fail a request.
            self.exception("cannot write an access log line")


logger_class = TarsyGunicornLogger


def on_starting(server) -> None:
    """Before any worker: settings that cannot serve (no SECRET_KEY, a bad DATABASE_URL) stop
    the master with one log line and its exit code, not workers that fail or answer 500s."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tarsy_project.settings")
    with exit_on_failure("gunicorn"):
        require_secret_key()
