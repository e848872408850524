from django.apps import AppConfig


class AlertSessionsConfig(AppConfig):
    """TARSy alert sessions; labelled to stay clear of django.contrib.sessions."""

    name = "sessions"
    label = "alert_sessions"
    verbose_name = "Alert sessions"
    default_auto_field = "django.db.models.BigAutoField"
