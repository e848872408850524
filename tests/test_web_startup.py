"""The web process: it refuses to start without SECRET_KEY (one line saying what to set), and
``runserver`` shows the admin with its CSS before any ``collectstatic``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.commandline import REPO, base_env, free_port, manage, run, the_error
from tests.retention.conftest import start

pytestmark = pytest.mark.slow

NO_KEY = (
    "SECRET_KEY is not set: export SECRET_KEY=\"$(python3 -c 'import secrets; "
    "print(secrets.token_urlsafe(50))')\" (or DEBUG=true, for local development only)"
)


def env_without_key(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = base_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    env.pop("SECRET_KEY", None)
    env.update(overrides)
    return env


def test_runserver_refuses_to_start_without_secret_key(tmp_path: Path) -> None:
    port = str(free_port())
    done = manage("runserver", "--noreload", port, env=env_without_key(tmp_path))
    assert done.returncode == 2
    assert the_error(done, "runserver") == NO_KEY
    assert done.stdout == ""


def gunicorn(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The image's command, bound to a free loopback port; it must exit by itself."""
    config = str(REPO / "deploy" / "gunicorn.conf.py")
    argv = [str(Path(sys.executable).parent / "gunicorn"), "--config", config]
    return run([*argv, "--bind", f"127.0.0.1:{free_port()}", "tarsy_project.wsgi:application"],
               env=env)  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "code", "message"),
    [
        ({}, 2, NO_KEY),
        (
            {"SECRET_KEY": "k" * 60, "DATABASE_URL": "garbage"},
            5,
            "DATABASE_URL has no scheme: use postgres://USER:PASSWORD@HOST:PORT/NAME "
            "or sqlite:////absolute/path.sqlite3",
        ),
    ],
    ids=["no-secret-key", "bad-database-url"],
)
def test_gunicorn_refuses_to_start_before_any_worker(
    tmp_path: Path, overrides: dict[str, str], code: int, message: str
) -> None:
    done = gunicorn(env_without_key(tmp_path, **overrides))
    assert done.returncode == code, done.stderr
    starting, error = (json.loads(line) for line in done.stderr.splitlines())
    assert starting["message"].startswith("Starting gunicorn ")
    assert (error["level"], error["message"], error["exit_code"]) == ("ERROR", message, code)
    assert "Traceback" not in done.stderr


def test_wsgi_application_does_not_load_without_secret_key(tmp_path: Path) -> None:
    probe = (
        "try:\n"
        "    import tarsy_project.wsgi\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    done = run([sys.executable, "-c", probe], env=env_without_key(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"SettingsError {NO_KEY}\n"


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.parametrize(
    "overrides",
    [{"SECRET_KEY": "k" * 60}, {"DEBUG": "true"}],
    ids=["production-with-key", "debug-without-key"],
)
def test_runserver_serves_the_admin_css_without_collectstatic(
    tmp_path: Path, overrides: dict[str, str]
) -> None:
    port = free_port()
    env = env_without_key(tmp_path, STATIC_ROOT=str(tmp_path / "never-collected"), **overrides)
    argv = [sys.executable, str(REPO / "manage.py"), "runserver", "--noreload", str(port)]
    server, log = start(argv, env, REPO)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log.text()
            try:
                status, css = fetch(f"http://127.0.0.1:{port}/static/admin/css/base.css")
                break
            except OSError:
                assert time.monotonic() < deadline, "runserver did not answer within 60s"
                time.sleep(0.2)
        assert status == 200
        assert b"--primary" in css  # the admin's stylesheet, from django.contrib.admin
        status, page = fetch(f"http://127.0.0.1:{port}/admin/login/")
        assert status == 200
        assert b"/static/admin/css/base.css" in page
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert not (tmp_path / "never-collected").exists()
