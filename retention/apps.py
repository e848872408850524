from django.apps import AppConfig


class RetentionAppConfig(AppConfig):
    """The cleanup sidecar: scheduled retention and sweep jobs, and their run records."""

    name = "retention"
    verbose_name = "Retention"
    default_auto_field = "django.db.models.BigAutoField"
