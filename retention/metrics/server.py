"""Serving the metrics over HTTP, on a daemon thread that never blocks the cleanup loop.

prometheus_client's threaded WSGI server: a thread per request, all daemon threads, so a scrape
in flight (even a client that never finishes its request) never holds the process after the
loop has stopped on SIGTERM.
"""

from __future__ import annotations

import errno
import logging
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server

from retention.metrics.definitions import CleanupMetrics
from retention.metrics.listener import MetricsListener

log = logging.getLogger("retention.metrics")


class MetricsUnavailable(Exception):
    """The metrics server could not start (the port is taken, the address is not ours...)."""


def serve_metrics(registry: CollectorRegistry, *, addr: str, port: int) -> WSGIServer:
    """Serve ``registry`` at ``http://addr:port/metrics`` (Prometheus text format) from now on."""
    try:
        server, _thread = start_http_server(port, addr=addr, registry=registry)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            reason += " (is run_cleanup already running? unset METRICS_PORT for a one-off run)"
        raise MetricsUnavailable(f"cannot serve metrics on {addr}:{port}: {reason}") from None
    log.info(
        "serving metrics", extra={"metrics_addr": addr, "metrics_port": port, "path": "/metrics"}
    )
    return server


def start_metrics(*, addr: str, port: int) -> MetricsListener:
    """Serve a fresh set of metrics on ``addr:port`` and return the listener that keeps them;
    raises :class:`MetricsUnavailable` when the server cannot start."""
    metrics = CleanupMetrics()
    serve_metrics(metrics.registry, addr=addr, port=port)
    return MetricsListener(metrics)
