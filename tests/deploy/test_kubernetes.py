"""deploy/kubernetes: schema-valid manifests, resolvable kustomizations, and the pod's contract
(native sidecar, shared streaming directory, probes, env, grace period). Offline. The
monitoring component's own checks are in test_monitoring.py."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest

from tarsy_project.config import load_config

from .crd_shapes import is_operator_object, shape_errors
from .support import (
    BASE,
    KUBE,
    MONITORING,
    MONITORING_OVERLAY,
    OVERLAY,
    container_env_names,
    containers,
    find,
    is_kustomization,
    iter_workloads,
    json_pointer,
    kubectl_kustomize,
    kustomize_files,
    load_documents,
    load_yaml,
    manifest_files,
    pod_spec,
    render,
)

# Native sidecars (restartPolicy: Always on an init container) are on by default from 1.29.
NATIVE_SIDECAR_VERSIONS = ("1.29", "1.33")
# The overlay is for older clusters; it must also be valid on newer ones.
LEGACY_VERSIONS = ("1.27", "1.28", "1.33")
KUSTOMIZATIONS = (KUBE, BASE, OVERLAY, MONITORING_OVERLAY)

# From sessions/services/retention.py (per-batch limits on PostgreSQL) and deploy/gunicorn.conf.py.
STATEMENT_TIMEOUT_S = 60
LOCK_TIMEOUT_S = 5


def validate(obj: dict, version: str) -> None:
    """Kubernetes' own schema for the version; the Prometheus Operator's objects, which it
    has no schema for, get the shape check of crd_shapes.py."""
    if is_operator_object(obj):
        errors = shape_errors(obj)
        assert not errors, f"{obj['kind']}/{obj['metadata']['name']}: " + "; ".join(errors)
        return
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.path)
        pytest.fail(f"{obj['kind']}/{obj['metadata']['name']} on {version}: {where}: {exc.message}")


def test_manifest_files_are_found() -> None:
    names = {path.name for path in manifest_files()}
    assert {"deployment.yaml", "service.yaml", "migrate-job.yaml", "secret.example.yaml"} <= names
    assert {"podmonitor.yaml", "prometheusrule.yaml"} <= names


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(KUBE)))
@pytest.mark.parametrize("version", NATIVE_SIDECAR_VERSIONS)
def test_every_manifest_file_validates(path: Path, version: str) -> None:
    for obj in load_documents(path):
        validate(obj, version)


@pytest.mark.parametrize("version", NATIVE_SIDECAR_VERSIONS)
def test_rendered_base_validates(version: str) -> None:
    objects = render(KUBE)
    assert {obj["kind"] for obj in objects} == {"Deployment", "Service", "Job", "ConfigMap"}
    for obj in objects:
        validate(obj, version)


@pytest.mark.parametrize("version", LEGACY_VERSIONS)
def test_rendered_pre_1_29_overlay_validates(version: str) -> None:
    for obj in render(OVERLAY):
        validate(obj, version)


@pytest.mark.parametrize("version", NATIVE_SIDECAR_VERSIONS)
def test_rendered_monitoring_overlay_validates(version: str) -> None:
    objects = render(MONITORING_OVERLAY)
    assert {obj["kind"] for obj in objects} == {
        "Deployment", "Service", "Job", "ConfigMap", "PodMonitor", "PrometheusRule",
    }  # fmt: skip
    for obj in objects:
        validate(obj, version)


def test_validation_rejects_a_native_sidecar_before_1_29() -> None:
    """The validator can fail: a container-level restartPolicy is unknown to 1.27 (1.28 has
    the field as alpha, off by default; 1.29 turns native sidecars on)."""
    deployment = find(render(BASE), "Deployment")
    with pytest.raises(kubernetes_validate.ValidationError, match="restartPolicy"):
        kubernetes_validate.validate(deployment, "1.27", strict=True)


@pytest.mark.parametrize(
    "directory", (*KUSTOMIZATIONS, MONITORING), ids=lambda p: str(p.relative_to(KUBE))
)
def test_kustomization_references_exist(directory: Path) -> None:
    doc = load_yaml(directory / "kustomization.yaml")
    assert is_kustomization(doc)
    named = kustomize_files(directory)
    assert named, "a kustomization that names nothing"
    for path in named:
        assert path.exists(), f"{directory.name}/kustomization.yaml names missing {path}"
        if path.is_dir():
            assert (path / "kustomization.yaml").is_file(), f"{path} is not a kustomization"


def test_every_base_file_is_used_or_an_example() -> None:
    used = {path.name for path in kustomize_files(BASE)}
    for path in BASE.iterdir():
        if path.name == "kustomization.yaml":
            continue
        assert path.name in used or ".example." in path.name, f"{path.name} is not in the base"


def test_overlay_moves_the_sidecar_to_a_plain_container() -> None:
    base = pod_spec(find(render(BASE), "Deployment"))
    legacy = pod_spec(find(render(OVERLAY), "Deployment"))
    assert [c["name"] for c in base["initContainers"]] == ["wait-for-migrations", "cleanup"]
    assert [c["name"] for c in legacy["initContainers"]] == ["wait-for-migrations"]
    assert [c["name"] for c in legacy["containers"]] == ["web", "cleanup"]
    moved = legacy["containers"][1]
    assert "restartPolicy" not in moved
    native = dict(base["initContainers"][1])
    assert native.pop("restartPolicy") == "Always"
    assert moved == native, "the overlay must change nothing but where the sidecar runs"


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda p: str(p.relative_to(KUBE)))
def test_kubectl_kustomize_renders(directory: Path) -> None:
    """The real kustomize (built into kubectl) agrees with this module's rendering, up to the
    ConfigMap name hash and the image tag it sets."""
    real = kubectl_kustomize(directory)
    config_map = find(real, "ConfigMap")
    hashed = config_map["metadata"]["name"]
    assert hashed.startswith("tarsy-ops-config-")
    deployment = find(real, "Deployment")
    volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
    assert volumes["config"]["configMap"]["name"] == hashed
    ours = render(directory)
    assert {(o["kind"], o["metadata"]["name"]) for o in real} == {
        (o["kind"], o["metadata"]["name"] if o["kind"] != "ConfigMap" else hashed) for o in ours
    }
    ours_deployment = find(ours, "Deployment")
    for name, container in containers(deployment).items():
        assert container["image"] == "tarsy-ops:0.1.0"
        mine = containers(ours_deployment)[name]
        assert container["env"] == mine["env"]
        assert container.get("command") == mine.get("command")
        assert container.get("restartPolicy") == mine.get("restartPolicy")


# -- the pod's contract ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def deployment() -> dict:
    return find(render(BASE), "Deployment")


def env_value(container: dict, name: str) -> str | None:
    for item in container.get("env", []):
        if item["name"] == name:
            return item.get("value")
    raise AssertionError(f"{container['name']} does not set {name}")


def test_cleanup_is_a_native_sidecar(deployment: dict) -> None:
    spec = pod_spec(deployment)
    sidecar = next(c for c in spec["initContainers"] if c["name"] == "cleanup")
    assert sidecar["restartPolicy"] == "Always"
    assert sidecar["command"] == ["python", "manage.py", "run_cleanup"]
    web = next(c for c in spec["containers"] if c["name"] == "web")
    assert "command" not in web and "args" not in web, "web runs the image's CMD (gunicorn)"


def test_logging_env_on_every_container(deployment: dict) -> None:
    workloads = list(iter_workloads(render(BASE)))
    assert len(workloads) == 2
    for workload in workloads:
        for container in containers(workload).values():
            assert env_value(container, "LOG_FORMAT") == "json"
            assert env_value(container, "LOG_LEVEL") == "info"


def test_database_url_comes_from_the_secret(deployment: dict) -> None:
    secret = find(load_documents(BASE / "secret.example.yaml"), "Secret")
    for workload in iter_workloads(render(BASE)):
        for container in containers(workload).values():
            refs = {
                item["name"]: item["valueFrom"]["secretKeyRef"]
                for item in container["env"]
                if "valueFrom" in item
            }
            assert "DATABASE_URL" in refs, container["name"]
            for ref in refs.values():
                assert ref["name"] == secret["metadata"]["name"]
                assert ref["key"] in secret["stringData"]
    web = containers(deployment)["web"]
    assert "SECRET_KEY" in container_env_names(web)


def test_tarsy_config_is_the_configmap_file(deployment: dict) -> None:
    spec = pod_spec(deployment)
    generator = load_yaml(BASE / "kustomization.yaml")["configMapGenerator"]
    assert len(generator) == 1
    volume = next(v for v in spec["volumes"] if v["name"] == "config")
    assert volume["configMap"]["name"] == generator[0]["name"]
    for name in ("web", "cleanup"):
        container = containers(deployment)[name]
        mount = next(m for m in container["volumeMounts"] if m["name"] == "config")
        assert mount.get("readOnly") is True
        [file_name] = generator[0]["files"]
        assert env_value(container, "TARSY_CONFIG") == f"{mount['mountPath']}/{file_name}"


def test_streaming_logs_are_shared_on_an_emptydir(deployment: dict) -> None:
    spec = pod_spec(deployment)
    volume = next(v for v in spec["volumes"] if v["name"] == "streaming-logs")
    assert "emptyDir" in volume
    mounts = {
        name: next(m["mountPath"] for m in c["volumeMounts"] if m["name"] == "streaming-logs")
        for name, c in containers(deployment).items()
        if name in ("web", "cleanup")
    }
    assert mounts["web"] == mounts["cleanup"]
    config = load_config(BASE / "tarsy.yaml")
    assert str(config.streaming_logs.base_dir) == mounts["cleanup"], (
        "tarsy.yaml's base_dir must be the shared mount"
    )


def test_sidecar_probes(deployment: dict) -> None:
    sidecar = containers(deployment)["cleanup"]
    liveness = sidecar["livenessProbe"]["exec"]["command"]
    assert liveness[:4] == ["python", "manage.py", "cleanup_status", "--liveness"]
    # No database-dependent probe on the sidecar (see the comment in deployment.yaml).
    assert "readinessProbe" not in sidecar and "startupProbe" not in sidecar
    heartbeat = env_value(sidecar, "TARSY_HEARTBEAT_FILE")
    tmp = next(m for m in sidecar["volumeMounts"] if m["name"] == "cleanup-tmp")
    assert heartbeat.startswith(tmp["mountPath"] + "/"), "the heartbeat must be on an emptyDir"
    probe = sidecar["livenessProbe"]
    max_age = float(liveness[liveness.index("--max-age") + 1])
    # The loop beats at least every 30s and after every batch (statement_timeout bounded).
    assert max_age >= 2 * (30 + STATEMENT_TIMEOUT_S)
    assert probe["initialDelaySeconds"] >= 30
    assert probe["timeoutSeconds"] >= 10


def test_web_probes_use_an_allowed_host(deployment: dict) -> None:
    web = containers(deployment)["web"]
    allowed = env_value(web, "ALLOWED_HOSTS").split(",")
    readiness = web["readinessProbe"]["httpGet"]
    assert readiness["path"] == "/admin/login/"
    host = {h["name"]: h["value"] for h in readiness["httpHeaders"]}["Host"]
    assert host in allowed, "the kubelet's Host header would get a 400 DisallowedHost"
    assert web["ports"][0]["containerPort"] == 8000


def test_security_and_resources_on_every_container() -> None:
    for workload in iter_workloads(render(BASE)):
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["automountServiceAccountToken"] is False
        for container in containers(workload).values():
            resources = container["resources"]
            for key in ("cpu", "memory"):
                assert key in resources["requests"] and key in resources["limits"]
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, "read-only root: /tmp must be an emptyDir"


def test_grace_period_covers_web_shutdown_and_a_batch(deployment: dict) -> None:
    spec = pod_spec(deployment)
    gunicorn_conf: dict = {}
    exec(  # our own config file, read for its numbers
        compile((KUBE.parent / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"),
        gunicorn_conf,
    )
    web = containers(deployment)["web"]
    pre_stop = int(web["lifecycle"]["preStop"]["exec"]["command"][-1])
    # Native sidecars stop after the main containers: the budgets add up.
    needed = pre_stop + gunicorn_conf["graceful_timeout"] + STATEMENT_TIMEOUT_S + LOCK_TIMEOUT_S
    assert spec["terminationGracePeriodSeconds"] > needed


def test_migration_job_and_service(deployment: dict) -> None:
    objects = render(BASE)
    job = find(objects, "Job")
    [container] = pod_spec(job)["containers"]
    assert container["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert pod_spec(job)["restartPolicy"] == "Never"
    service = find(objects, "Service")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    wait = containers(deployment)["wait-for-migrations"]
    assert wait["command"][:4] == ["python", "manage.py", "migrate", "--check"]


def test_overlay_patch_guards_its_index() -> None:
    ops = load_yaml(OVERLAY / "sidecar-as-container.yaml")
    assert ops[0]["op"] == "test" and json_pointer(ops[0]["path"])[-1] == "name"
