from django.apps import AppConfig


class StreamingAppConfig(AppConfig):
    """Per-session streaming log files: the buffered writer and the file sweeper."""

    name = "streaming"
    verbose_name = "Streaming logs"
