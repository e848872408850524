"""The web side's security settings, from the environment, safe by default in production.

With ``DEBUG`` off (production) the session and CSRF cookies are Secure, HSTS is sent on
HTTPS responses for a year, plain HTTP is redirected to HTTPS when the proxy's
``X-Forwarded-Proto`` is trusted, and passwords go through Django's standard validators; so
``manage.py check --deploy`` is clean with the production environment README.md describes.
Every one of them can be overridden by the environment variable of the same name.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from environ import Env

from tarsy_project.exits import ExitCode, SettingsError

# HSTS max-age in production: one year, what browsers' preload lists ask for. HSTS is only
# sent on HTTPS responses, so the admin over plain HTTP (port-forward, compose) never gets it.
HSTS_SECONDS = 365 * 24 * 3600
DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-key"

PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]


def secret_key(env: Env, *, debug: bool) -> str:
    """SECRET_KEY from the environment; a development key only with DEBUG on. Empty otherwise:
    the commands that sign nothing (run_cleanup, migrate) run without one, and the web server
    refuses to start (:func:`require_secret_key`)."""
    key = env.str("SECRET_KEY", default="")
    return key or (DEVELOPMENT_SECRET_KEY if debug else "")


def security_settings(env: Env, *, debug: bool) -> dict[str, Any]:
    """The settings below, by name, for ``settings.py`` to adopt."""
    production = not debug
    trust_proxy = env.bool("TRUST_X_FORWARDED_PROTO", default=False)
    preload = env.bool("SECURE_HSTS_PRELOAD", default=False)
    values: dict[str, Any] = {
        "SESSION_COOKIE_SECURE": env.bool("SESSION_COOKIE_SECURE", default=production),
        "CSRF_COOKIE_SECURE": env.bool("CSRF_COOKIE_SECURE", default=production),
        "SECURE_HSTS_SECONDS": env.int("SECURE_HSTS_SECONDS", default=HSTS_SECONDS * production),
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True),
        "SECURE_HSTS_PRELOAD": preload,
        # Only behind a proxy that says which scheme the browser used: without it every request
        # looks like plain HTTP, and a redirect would loop.
        "SECURE_SSL_REDIRECT": env.bool("SECURE_SSL_REDIRECT", default=production and trust_proxy),
        "AUTH_PASSWORD_VALIDATORS": PASSWORD_VALIDATORS,
        # Preload is the domain owner's decision (it commits every subdomain to HTTPS for
        # months, and is hard to undo): opt in with SECURE_HSTS_PRELOAD=true; until then its
        # deploy check (W021) is a known choice, not a finding.
        "SILENCED_SYSTEM_CHECKS": [] if preload else ["security.W021"],
    }
    if trust_proxy:
        # Only when the proxy in front always sets X-Forwarded-Proto itself.
        values["SECURE_PROXY_SSL_HEADER"] = ("HTTP_X_FORWARDED_PROTO", "https")
    return values


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
