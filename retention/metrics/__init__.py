"""run_cleanup's Prometheus metrics: their definitions, the listener that keeps them, the server.

Off unless ``METRICS_PORT`` is set (:func:`retention.metrics.server.start_metrics`); the README's
metrics table says what each one means.
"""
