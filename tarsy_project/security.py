"""The web side's security: the signing key (a development one only with DEBUG on), and the
web server's refusal to start without one.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from environ import Env

from tarsy_project.exits import ExitCode, SettingsError

DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-key"


def secret_key(env: Env, *, debug: bool) -> str:
    """SECRET_KEY from the environment; a development key only with DEBUG on. Empty otherwise:
    the commands that sign nothing (run_cleanup, migrate) run without one, and the web server
    refuses to start (:func:`require_secret_key`)."""
    key = env.str("SECRET_KEY", default="")
    return key or (DEVELOPMENT_SECRET_KEY if debug else "")


def require_secret_key() -> None:
    """Refuse to serve without a signing key: one line saying what to set (exit 2), instead of
    a server that answers every request with a 500."""
    try:
        key = settings.SECRET_KEY
    except SettingsError:
        raise  # the settings themselves did not load
    except ImproperlyConfigured:
        key = ""  # Django refuses to hand out an empty key
    if not key:
        raise SettingsError(
            "SECRET_KEY is not set: export SECRET_KEY=\"$(python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(50))')\" (or DEBUG=true, for local development only)",
            exit_code=ExitCode.USAGE,
        )
