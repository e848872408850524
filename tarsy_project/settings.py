"""Settings for TARSy Ops, read from the environment (django-environ).

Logging is configured here, first, so that everything after it (Django, the config loader,
the commands) logs in the format chosen by ``LOG_FORMAT``. ``tarsy.yaml`` is *not* loaded
here: the commands that need it load it, so a broken file is a clean error, not a traceback.
"""

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from tarsy_project.database import attach, database_mode, database_settings
from tarsy_project.logging import configure_logging
from tarsy_project.security import secret_key, security_settings

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

configure_logging()

DEBUG = env.bool("DEBUG", default=False)

# A development key exists only with DEBUG on; the web server refuses to start without one
# (tarsy_project.security.require_secret_key); commands that sign nothing run without it.
SECRET_KEY = secret_key(env, debug=DEBUG)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# Behind a TLS-terminating ingress: the admin's https origin(s), e.g. https://tarsy-ops.example.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# -- web security (tarsy_project/security.py): Secure cookies, HSTS, SSL redirect behind a
# trusted proxy, password validators; safe defaults with DEBUG off, each one overridable.
globals().update(security_settings(env, debug=DEBUG))

# Path to tarsy.yaml; absent means every default (README.md, Configuration).
TARSY_CONFIG = env.str("TARSY_CONFIG", default="") or None

# Touched by run_cleanup at every wake-up; `cleanup_status --liveness` checks only its age.
TARSY_HEARTBEAT_FILE = env.str(
    "TARSY_HEARTBEAT_FILE", default=str(BASE_DIR / "var" / "run_cleanup.heartbeat")
)

# standalone (TARSy Ops creates TARSy's tables) or attached (DATABASE_URL is TARSy's own
# PostgreSQL database; TARSy Ops' tables go to the schema TARSY_OPS_SCHEMA).
_DB_MODE = database_mode(os.environ)
TARSY_DB_MODE = _DB_MODE.name
TARSY_OPS_SCHEMA = _DB_MODE.ops_schema


def metrics_port(raw: str) -> int | None:
    """``METRICS_PORT``: empty means no metrics server; anything else must be a TCP port."""
    value = raw.strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= 65535):
        raise ImproperlyConfigured(f"METRICS_PORT must be a port number 1..65535, not {raw!r}")
    return int(value)


# run_cleanup serves its Prometheus metrics on http://METRICS_ADDR:METRICS_PORT/metrics.
METRICS_PORT = metrics_port(env.str("METRICS_PORT", default=""))
METRICS_ADDR = env.str("METRICS_ADDR", default="") or "0.0.0.0"

DEFAULT_SQLITE_PATH = BASE_DIR / "var" / "tarsy.sqlite3"
DATABASES = {
    "default": attach(database_settings(os.environ, default_sqlite=DEFAULT_SQLITE_PATH), _DB_MODE)
}
# In attached mode, migrate leaves TARSy's tables alone.
DATABASE_ROUTERS = ["sessions.routers.TarsyTablesRouter"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "sessions.apps.AlertSessionsConfig",
    "retention.apps.RetentionAppConfig",
    "streaming.apps.StreamingAppConfig",
    # The project itself: registers the system check of tarsy.yaml.
    "tarsy_project.apps.TarsyProjectConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves the admin's static files from STATIC_ROOT (collectstatic) under gunicorn.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads the session or the database: a NUL in the input is a 400/404.
    "tarsy_project.middleware.RejectNulInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tarsy_project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "tarsy_project.wsgi.application"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "static"))
# Without a collected STATIC_ROOT (development, tests) WhiteNoise re-scans per request
# instead of warning "No directory at" in every process, and serves the apps' static files
# straight from their directories, so `runserver` shows the admin with its CSS before any
# `collectstatic`; the image always has a collected one.
WHITENOISE_AUTOREFRESH = DEBUG or not Path(STATIC_ROOT).is_dir()
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Logging is set up by configure_logging() above; Django must not reconfigure it.
LOGGING_CONFIG = None
