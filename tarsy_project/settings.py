"""Settings for TARSy Ops, read from the environment (django-environ).

Logging is configured here, first, so that everything after it (Django, the config loader,
the commands) logs in the format chosen by ``LOG_FORMAT``. ``tarsy.yaml`` is *not* loaded
here: the commands that need it load it, so a broken file is a clean error, not a traceback.
"""

from pathlib import Path

import environ

from tarsy_project.logging import configure_logging

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

configure_logging()

DEBUG = env.bool("DEBUG", default=False)

# A development key exists only with DEBUG on; in production SECRET_KEY must come from the
# environment (Django refuses an empty key the first time something signs with it).
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY and DEBUG:
    SECRET_KEY = "django-insecure-development-only-key"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# Behind a TLS-terminating ingress: the admin's https origin(s), e.g. https://tarsy-ops.example.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    # Only when the proxy in front always sets X-Forwarded-Proto itself.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Path to tarsy.yaml; absent means every default (the README lists them).
TARSY_CONFIG = env.str("TARSY_CONFIG", default="") or None

# Touched by run_cleanup at every wake-up; `cleanup_status --liveness` checks only its age.
TARSY_HEARTBEAT_FILE = env.str(
    "TARSY_HEARTBEAT_FILE", default=str(BASE_DIR / "var" / "run_cleanup.heartbeat")
)

DEFAULT_SQLITE_PATH = BASE_DIR / "var" / "tarsy.sqlite3"
DATABASES = {
    "default": env.db_url_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{DEFAULT_SQLITE_PATH}"
    ),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    _sqlite_name = str(DATABASES["default"]["NAME"])
    if _sqlite_name != ":memory:":
        Path(_sqlite_name).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the admin read while the cleanup sidecar writes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "init_command", "PRAGMA journal_mode=WAL;"
    )
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    # A transaction takes the write lock when it begins, so one that reads before it writes
    # waits its turn (``timeout``) instead of failing at once with "database is locked" when
    # another connection wrote meanwhile (run_cleanup's jobs write side by side).
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")

# PostgreSQL: client-side bounds, so that an unreachable server cannot hang a process. A
# connection attempt gives up after 10 s; keepalives and the TCP user timeout notice a peer
# that vanished (about a minute). A server that is frozen but whose kernel still answers is
# noticed by neither: run_cleanup's watchdog covers that (retention/watchdog.py). A value in
# DATABASE_URL's query string wins.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    for _option, _value in {
        "connect_timeout": 10,
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
        "tcp_user_timeout": 60000,  # milliseconds
    }.items():
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault(_option, _value)

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
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves the admin's static files from STATIC_ROOT (collectstatic) under gunicorn.
    "whitenoise.middleware.WhiteNoiseMiddleware",
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
# instead of warning "No directory at" in every process; the image always has one.
WHITENOISE_AUTOREFRESH = DEBUG or not Path(STATIC_ROOT).is_dir()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Logging is set up by configure_logging() above; Django must not reconfigure it.
LOGGING_CONFIG = None
