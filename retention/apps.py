from django.apps import AppConfig


class RetentionAppConfig(AppConfig):
    """The cleanup sidecar: the jobs the apps contribute, their runner, and their run records."""

    name = "retention"
    verbose_name = "Retention"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from retention.registry import autodiscover

        # Every app's ``cleanup`` module registers its work now that all models are loaded.
        autodiscover()
