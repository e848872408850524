"""The web side's security settings: safe by default with DEBUG off, each from the environment.

``check --deploy`` runs as a real process with the production environment README.md gives
(behind a TLS proxy); the headers, cookies and redirects are checked through Django's test
client with the settings the environment produces.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from environ import Env

from tarsy_project.security import HSTS_SECONDS, security_settings
from tests.commandline import REPO, base_env, manage
from tests.deploy.support import BASE, containers, find, render

# The Ingress host of README.md's production example.
HOST = "tarsy-ops.example.com"


def production_env(**overrides: str) -> dict[str, str]:
    """README.md's production environment behind a TLS-terminating proxy."""
    env = base_env(
        DATABASE_URL="sqlite://:memory:",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=f"localhost,127.0.0.1,tarsy-ops-admin,{HOST}",
        CSRF_TRUSTED_ORIGINS=f"https://{HOST}",
        TRUST_X_FORWARDED_PROTO="true",
        LOG_FORMAT="text",
    )
    env.update(overrides)
    return env


def settings_in_process(env: dict[str, str], *names: str) -> dict[str, Any]:
    """The values ``tarsy_project.settings`` gives ``names`` in a process with ``env``."""
    probe = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {list(names)!r}}}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        env=dict(env, DJANGO_SETTINGS_MODULE="tarsy_project.settings"),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.slow
def test_check_deploy_is_clean_with_the_production_environment() -> None:
    done = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "System check identified no issues (1 silenced).\n"


@pytest.mark.slow
def test_check_deploy_without_a_trusted_proxy_only_misses_the_redirect() -> None:
    """The manifests as they are (port-forward, plain HTTP): no redirect, everything else on."""
    env = production_env()
    del env["TRUST_X_FORWARDED_PROTO"]
    done = manage("check", "--deploy", env=env)
    assert done.returncode == 0
    found = sorted(set(word.strip("():") for word in done.stderr.split() if "security." in word))
    assert found == ["security.W008"], done.stderr


SECURITY_NAMES = (
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "SILENCED_SYSTEM_CHECKS",
)


@pytest.mark.slow
def test_defaults_follow_debug_and_every_one_can_be_overridden() -> None:
    production = settings_in_process(production_env(), *SECURITY_NAMES)
    assert production == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SILENCED_SYSTEM_CHECKS": ["security.W021"],
    }
    development = settings_in_process(production_env(DEBUG="true"), *SECURITY_NAMES)
    assert {k: development[k] for k in SECURITY_NAMES[:6]} == {
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_SSL_REDIRECT": False,
    }
    overridden = settings_in_process(
        production_env(
            SESSION_COOKIE_SECURE="false",
            CSRF_COOKIE_SECURE="false",
            SECURE_HSTS_SECONDS="3600",
            SECURE_HSTS_INCLUDE_SUBDOMAINS="false",
            SECURE_HSTS_PRELOAD="true",
            SECURE_SSL_REDIRECT="false",
        ),
        *SECURITY_NAMES,
    )
    assert overridden == {
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_HSTS_SECONDS": 3600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_SSL_REDIRECT": False,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SILENCED_SYSTEM_CHECKS": [],
    }


def test_standard_password_validators_refuse_weak_passwords() -> None:
    with pytest.raises(ValidationError) as refused:
        validate_password("1")
    codes = {error.code for error in refused.value.error_list}
    assert codes == {"password_too_short", "password_too_common", "password_entirely_numeric"}
    with pytest.raises(ValidationError):
        validate_password("operator-ops", user=User(username="operator-ops"))
    validate_password(secrets.token_urlsafe(16))


def settings_from(environ: dict[str, str]) -> dict[str, Any]:
    env = Env()
    env.ENVIRON = environ
    return security_settings(env, debug=False)


PROXIED = {"TRUST_X_FORWARDED_PROTO": "true"}


@pytest.mark.django_db
def test_behind_the_proxy_http_is_redirected_https_gets_hsts_and_secure_cookies() -> None:
    User.objects.create_user("operator", password="a-long-enough-passphrase", is_staff=True)
    client = Client()
    with override_settings(**settings_from(PROXIED), ALLOWED_HOSTS=[HOST]):
        plain = client.get("/admin/login/", HTTP_HOST=HOST)
        assert plain.status_code == 301
        assert plain["Location"] == f"https://{HOST}/admin/login/"

        proxied = {"HTTP_HOST": HOST, "HTTP_X_FORWARDED_PROTO": "https"}
        page = client.get("/admin/login/", **proxied)
        assert page.status_code == 200
        assert page["Strict-Transport-Security"] == f"max-age={HSTS_SECONDS}; includeSubDomains"
        assert page.cookies["csrftoken"]["secure"] is True

        token = page.cookies["csrftoken"].value
        login = client.post(
            "/admin/login/",
            {
                "username": "operator",
                "password": "a-long-enough-passphrase",
                "csrfmiddlewaretoken": token,
            },
            HTTP_REFERER=f"https://{HOST}/admin/login/",
            **proxied,
        )
        assert login.status_code == 302, login.content[:500]
        assert login.cookies["sessionid"]["secure"] is True
        assert login.cookies["sessionid"]["httponly"] is True


@pytest.mark.django_db
def test_the_readiness_probe_is_answered_even_behind_a_trusted_proxy() -> None:
    """The kubelet probes over plain HTTP: its X-Forwarded-Proto header keeps the SSL redirect
    (on with TRUST_X_FORWARDED_PROTO) from turning readiness into a 301."""
    web = containers(find(render(BASE), "Deployment"))["web"]
    probe = web["readinessProbe"]["httpGet"]
    headers = {h["name"]: h["value"] for h in probe["httpHeaders"]}
    meta = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    with override_settings(**settings_from(PROXIED), ALLOWED_HOSTS=["localhost"]):
        response = Client().get(probe["path"], **meta)
    assert response.status_code == 200
