"""deploy/compose.yaml, deploy/config/tarsy.yaml.example, and the environment contract between
the manifests and the code. Offline."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys

import pytest
import yaml

from retention.config import RetentionConfig
from sessions.config import OrphanDetectionConfig
from streaming.config import StreamingLogsConfig
from tarsy_project.config import (
    ConfigError,
    load_config,
    load_config_with_warnings,
    parse_config,
)

from .support import (
    BASE,
    COMPOSE,
    CONTAINERFILE,
    EXAMPLE_CONFIG,
    OVERLAY,
    container_env_names,
    containers,
    env_reads_in,
    env_vars_read_by_code,
    iter_workloads,
    load_yaml,
    render,
)

APP_SERVICES = ("migrate", "web", "cleanup")
# Where each section TARSy Ops reads sits in the file.
SECTIONS = {
    ("queue",): OrphanDetectionConfig,
    ("system", "retention"): RetentionConfig,
    ("system", "streaming_logs"): StreamingLogsConfig,
}


# -- tarsy.yaml.example ---------------------------------------------------------------------------


def test_example_config_loads_and_equals_the_defaults() -> None:
    assert load_config(EXAMPLE_CONFIG) == load_config(None)
    assert load_config_with_warnings(EXAMPLE_CONFIG).warnings == ()


def test_example_config_names_every_key_explicitly() -> None:
    raw = load_yaml(EXAMPLE_CONFIG)
    assert set(raw) == {"queue", "system"}
    assert set(raw["system"]) == {"retention", "streaming_logs"}
    for where, cls in SECTIONS.items():
        section = raw
        for key in where:
            section = section[key]
        assert set(section) == {f.name for f in dataclasses.fields(cls)}, where


def test_example_config_comments_every_key() -> None:
    lines = EXAMPLE_CONFIG.read_text(encoding="utf-8").splitlines()
    keys = {f.name for cls in SECTIONS.values() for f in dataclasses.fields(cls)}
    for index, line in enumerate(lines):
        match = re.match(r"^\s+(\w+):\s*\S", line)
        if match and match.group(1) in keys:
            previous = lines[index - 1].strip()
            assert previous.startswith("# ") and len(previous) > 10, f"no comment above {line!r}"
            keys.discard(match.group(1))
    assert not keys, f"keys without a line: {keys}"


def test_example_config_check_can_fail() -> None:
    """The comparison is not vacuous: one changed value makes it differ."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8").replace("batch_size: 1000", "batch_size: 999")
    assert parse_config(text) != load_config(None)
    with pytest.raises(ConfigError):
        parse_config(text.replace("event_ttl: 1h", "event_ttl: 3600"))


def test_deployment_config_loads_with_an_absolute_base_dir() -> None:
    config = load_config(BASE / "tarsy.yaml")
    raw = load_yaml(BASE / "tarsy.yaml")
    assert os.path.isabs(raw["system"]["streaming_logs"]["base_dir"])
    assert config.retention == load_config(None).retention


# -- compose ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_yaml(COMPOSE)


def test_compose_services(compose: dict) -> None:
    services = compose["services"]
    assert {"postgres", "web", "cleanup"} <= set(services)
    assert set(services) == {"postgres", *APP_SERVICES}
    assert services["cleanup"]["command"] == ["python", "manage.py", "run_cleanup"]
    assert services["migrate"]["command"][:3] == ["python", "manage.py", "migrate"]
    assert "command" not in services["web"], "web runs the image's CMD (gunicorn)"
    image = services["migrate"]["image"]
    assert services["migrate"]["build"]["dockerfile"] == "deploy/Containerfile"
    context = (COMPOSE.parent / services["migrate"]["build"]["context"]).resolve()
    assert (context / services["migrate"]["build"]["dockerfile"]) == CONTAINERFILE
    assert services["web"]["image"] == services["cleanup"]["image"] == image


def test_compose_postgres_health_and_dependencies(compose: dict) -> None:
    services = compose["services"]
    assert services["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    for name in APP_SERVICES:
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web", "cleanup"):
        migrate = services[name]["depends_on"]["migrate"]
        assert migrate["condition"] == "service_completed_successfully"
    liveness = services["cleanup"]["healthcheck"]["test"]
    assert liveness[1:5] == ["python", "manage.py", "cleanup_status", "--liveness"]


def test_compose_shares_the_streaming_volume(compose: dict) -> None:
    services = compose["services"]
    assert "streaming-logs" in compose["volumes"]
    mounts = {}
    for name in ("web", "cleanup"):
        [mount] = [v for v in services[name]["volumes"] if v.startswith("streaming-logs:")]
        mounts[name] = mount.split(":")[1]
    assert mounts["web"] == mounts["cleanup"]
    assert f'VOLUME ["{mounts["web"]}"]' in CONTAINERFILE.read_text()
    # The same tarsy.yaml as the Kubernetes base, so base_dir is that mount.
    for name in ("web", "cleanup"):
        [config] = [
            v for v in services[name]["volumes"] if v.endswith("/etc/tarsy/tarsy.yaml:ro,z")
        ]
        source = (COMPOSE.parent / config.split(":")[0]).resolve()
        assert source == (BASE / "tarsy.yaml").resolve()
    assert str(load_config(BASE / "tarsy.yaml").streaming_logs.base_dir) == mounts["web"]


def test_compose_matches_kubernetes_env(compose: dict) -> None:
    """The same variables, with the same literal values, as the Kubernetes containers."""
    deployment, job = list(iter_workloads(render(BASE)))
    k8s = {**containers(deployment), "migrate": containers(job)["migrate"]}
    for name in APP_SERVICES:
        env = compose["services"][name]["environment"]
        assert isinstance(env, dict)
        assert set(env) == set(container_env_names(k8s[name])), name
        for item in k8s[name]["env"]:
            if "value" in item and item["name"] != "ALLOWED_HOSTS":
                assert env[item["name"]] == item["value"], (name, item["name"])


def test_podman_compose_parses_it() -> None:
    """podman-compose's own parser (its --dry-run needs no podman; a dev dependency) accepts
    the file, resolves the variables, and refuses to start without SECRET_KEY."""
    tool = os.path.join(os.path.dirname(sys.executable), "podman-compose")
    assert os.path.exists(tool), "podman-compose missing: pip install -e '.[dev]'"
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "POSTGRES_PASSWORD"}}
    argv = [tool, "--dry-run", "-f", str(COMPOSE), "config"]
    out = subprocess.run(
        argv, env={**env, "SECRET_KEY": "s3cret"}, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    config = yaml.safe_load(out.stdout)
    assert {"postgres", "web", "cleanup"} <= set(config["services"])
    assert config["services"]["web"]["environment"]["SECRET_KEY"] == "s3cret"
    assert config["services"]["cleanup"]["environment"]["DATABASE_URL"] == (
        "postgres://tarsy:tarsy@postgres:5432/tarsy"
    )
    missing = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0
    assert "SECRET_KEY" in missing.stdout + missing.stderr


# -- environment variables ------------------------------------------------------------------------


def manifest_env_names() -> dict[str, set[str]]:
    """Variable names set per place: every Kubernetes container (base and overlay), every
    application service of compose, and the Containerfile's ENV."""
    found: dict[str, set[str]] = {}
    for label, directory in (("base", BASE), ("pre-1.29", OVERLAY)):
        for workload in iter_workloads(render(directory)):
            for name, container in containers(workload).items():
                key = f"{label}/{workload['metadata']['name']}/{name}"
                found[key] = set(container_env_names(container))
    services = load_yaml(COMPOSE)["services"]
    for name in APP_SERVICES:
        found[f"compose/{name}"] = set(services[name]["environment"])
    return found


def containerfile_env_names() -> set[str]:
    text = CONTAINERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("ENV "):
            names.update(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", line))
    return names


# Variables of the Python runtime and the image, not of the application.
RUNTIME_ENV = {
    "PATH",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "PIP_DISABLE_PIP_VERSION_CHECK",
}


def test_env_extraction_finds_the_settings_variables() -> None:
    read = env_vars_read_by_code()
    documented = {
        "DATABASE_URL",
        "TARSY_CONFIG",
        "LOG_LEVEL",
        "LOG_FORMAT",
        "SECRET_KEY",
        "DEBUG",
        "ALLOWED_HOSTS",
        "STATIC_ROOT",
        "TARSY_HEARTBEAT_FILE",
        "METRICS_PORT",
        "METRICS_ADDR",
    }
    assert documented <= read, f"not found in the code: {documented - read}"


def test_env_extraction_patterns() -> None:
    source = """
import os
env.str("A_ONE", default="")
env.bool("A_TWO")
env.list("A_THREE")
os.environ.get("A_FOUR")
os.environ["A_FIVE"]
os.getenv("A_SIX")
_parse(environ, "A_SEVEN", LEVELS, "info")
print("NOT_READ")
"""
    assert env_reads_in(source) == {f"A_{n}" for n in "ONE TWO THREE FOUR FIVE SIX SEVEN".split()}


def test_manifests_set_only_variables_the_code_reads() -> None:
    read = env_vars_read_by_code()
    places = manifest_env_names()
    assert len(places) >= 10
    for place, names in places.items():
        assert names, place
        unknown = names - read
        assert not unknown, f"{place} sets {sorted(unknown)}, which no code reads (renamed?)"
    image = containerfile_env_names() - RUNTIME_ENV
    assert image and not image - read, f"Containerfile ENV not read: {sorted(image - read)}"


def test_required_variables_are_set() -> None:
    places = manifest_env_names()
    for place, names in places.items():
        assert {"DATABASE_URL", "LOG_FORMAT", "LOG_LEVEL"} <= names, place
        if place.endswith("/web"):
            assert {"SECRET_KEY", "ALLOWED_HOSTS", "TARSY_CONFIG"} <= names, place
        if place.endswith("/cleanup"):
            assert {"TARSY_CONFIG", "TARSY_HEARTBEAT_FILE"} <= names, place
