from django.apps import AppConfig


class TarsyProjectConfig(AppConfig):
    """The project itself: settings, logging, the tarsy.yaml loader and its system check."""

    name = "tarsy_project"
    verbose_name = "TARSy Ops"

    def ready(self) -> None:
        from django.core import checks

        from tarsy_project.checks import TAG, check_tarsy_config

        checks.register(check_tarsy_config, TAG)
