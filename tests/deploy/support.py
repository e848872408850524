"""Shared helpers for the deployment tests: file locations, YAML loading, env var extraction."""

from __future__ import annotations

import ast
import copy
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
KUBE = DEPLOY / "kubernetes"
BASE = KUBE / "base"
OVERLAY = KUBE / "overlays" / "pre-1.29"
MONITORING = KUBE / "components" / "monitoring"
MONITORING_OVERLAY = KUBE / "overlays" / "monitoring"
COMPOSE = DEPLOY / "compose.yaml"
CONTAINERFILE = DEPLOY / "Containerfile"
EXAMPLE_CONFIG = DEPLOY / "config" / "tarsy.yaml.example"

# Where the code reads its environment: the project's packages.
SOURCE_DIRS = ("tarsy_project", "retention", "streaming", "sessions")

ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def load_documents(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def is_kustomization(doc: dict[str, Any]) -> bool:
    """A kustomization or a kustomize component (``kind: Component``)."""
    return doc.get("kind") in {"Kustomization", "Component"}


def manifest_files() -> list[Path]:
    """Every YAML file under deploy/kubernetes that holds Kubernetes objects."""
    files = []
    for path in sorted(KUBE.rglob("*.yaml")):
        if path.name == "kustomization.yaml" or path.name == "tarsy.yaml":
            continue
        docs = load_documents(path)
        if docs and isinstance(docs[0], dict) and "apiVersion" in docs[0]:
            files.append(path)
    return files


# -- kustomize, the parts this base uses ---------------------------------------------------------


def kustomize_files(kustomization_dir: Path) -> list[Path]:
    """Every file or directory a kustomization names (resources, patches, generators)."""
    doc = load_yaml(kustomization_dir / "kustomization.yaml")
    named: list[str] = list(doc.get("resources", [])) + list(doc.get("components", []))
    for patch in doc.get("patches", []) + doc.get("patchesStrategicMerge", []):
        if isinstance(patch, str):
            named.append(patch)
        elif "path" in patch:
            named.append(patch["path"])
    for patch in doc.get("patchesJson6902", []):
        named.append(patch["path"])
    for generator in doc.get("configMapGenerator", []) + doc.get("secretGenerator", []):
        for entry in generator.get("files", []):
            named.append(entry.split("=", 1)[-1])
        named.extend(generator.get("envs", []))
    return [(kustomization_dir / name).resolve() for name in named]


def json_pointer(path: str) -> list[str]:
    assert path.startswith("/"), path
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(doc: Any, path: str) -> tuple[Any, str]:
    *parents, last = json_pointer(path)
    node = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node, last


def _get(doc: Any, path: str) -> Any:
    node, last = _parent(doc, path)
    return node[int(last)] if isinstance(node, list) else node[last]


def _remove(doc: Any, path: str) -> Any:
    node, last = _parent(doc, path)
    return node.pop(int(last)) if isinstance(node, list) else node.pop(last)


def _add(doc: Any, path: str, value: Any) -> None:
    node, last = _parent(doc, path)
    if isinstance(node, list):
        node.append(value) if last == "-" else node.insert(int(last), value)
    else:
        node[last] = value


def apply_json6902(doc: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    """RFC 6902 (test, add, remove, replace, move, copy), enough to render an overlay."""
    doc = copy.deepcopy(doc)
    for op in operations:
        kind = op["op"]
        if kind == "test":
            actual = _get(doc, op["path"])
            assert actual == op["value"], f"patch test failed at {op['path']}: {actual!r}"
        elif kind == "add":
            _add(doc, op["path"], copy.deepcopy(op["value"]))
        elif kind == "remove":
            _remove(doc, op["path"])
        elif kind == "replace":
            _remove(doc, op["path"])
            _add(doc, op["path"], copy.deepcopy(op["value"]))
        elif kind == "move":
            _add(doc, op["path"], _remove(doc, op["from"]))
        elif kind == "copy":
            _add(doc, op["path"], copy.deepcopy(_get(doc, op["from"])))
        else:
            raise AssertionError(f"unknown JSON patch op {kind!r}")
    return doc


def _matches(doc: dict[str, Any], target: dict[str, Any]) -> bool:
    api_group, _, api_version = doc["apiVersion"].rpartition("/")
    return (
        target.get("kind", doc["kind"]) == doc["kind"]
        and target.get("name", doc["metadata"]["name"]) == doc["metadata"]["name"]
        and target.get("group", api_group) == api_group
        and target.get("version", api_version) == api_version
    )


def render(
    kustomization_dir: Path, inherited: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The objects a kustomization produces, as this repository uses kustomize: resources
    (files or directories), configMapGenerator (without the name hash, which `kubectl
    kustomize` adds; see test_kubectl_kustomize_renders), components, then JSON 6902 patches
    with a target. A component works on what its parent has built so far (``inherited``)."""
    doc = load_yaml(kustomization_dir / "kustomization.yaml")
    objects: list[dict[str, Any]] = list(inherited or [])
    for name in doc.get("resources", []):
        path = (kustomization_dir / name).resolve()
        objects.extend(render(path) if path.is_dir() else load_documents(path))
    for generator in doc.get("configMapGenerator", []):
        data = {}
        for entry in generator.get("files", []):
            key, _, file = entry.rpartition("=")
            file_path = kustomization_dir / file
            data[key or file_path.name] = file_path.read_text(encoding="utf-8")
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": generator["name"]},
                "data": data,
            }
        )
    for name in doc.get("components", []):
        objects = render((kustomization_dir / name).resolve(), objects)
    for patch in doc.get("patches", []):
        operations = load_yaml(kustomization_dir / patch["path"])
        assert isinstance(operations, list), "only JSON 6902 patches are rendered here"
        hits = [i for i, obj in enumerate(objects) if _matches(obj, patch["target"])]
        assert len(hits) == 1, f"patch {patch['path']} matches {len(hits)} objects"
        objects[hits[0]] = apply_json6902(objects[hits[0]], operations)
    return objects


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    hits = [
        obj
        for obj in objects
        if obj["kind"] == kind and (name is None or obj["metadata"]["name"] == name)
    ]
    assert len(hits) == 1, f"expected one {kind} {name or ''}, found {len(hits)}"
    return hits[0]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]


def containers(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """All containers of a workload (init and regular) by name."""
    spec = pod_spec(obj)
    return {c["name"]: c for c in spec.get("initContainers", []) + spec["containers"]}


def container_env_names(container: dict[str, Any]) -> list[str]:
    assert "envFrom" not in container, "envFrom hides variable names; list them in env"
    return [item["name"] for item in container.get("env", [])]


def iter_workloads(objects: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for obj in objects:
        if obj["kind"] in {"Deployment", "Job", "StatefulSet", "DaemonSet", "CronJob"}:
            yield obj


# -- environment variables the code reads ---------------------------------------------------------


def _is_environ(node: ast.AST) -> bool:
    """``os.environ`` or a name ``environ`` (a parameter holding it)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ"
    return isinstance(node, ast.Name) and node.id == "environ"


def _string(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def env_reads_in(source: str) -> set[str]:
    """Names of environment variables a module reads, found in its syntax tree:
    ``env.<anything>("X", ...)`` (django-environ), ``os.environ.get/setdefault/pop("X")``,
    ``os.environ["X"]``, ``os.getenv("X")``, and a call handing ``environ`` to a helper along
    with an upper-case name (``_parse(environ, "LOG_LEVEL", ...)``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and _is_environ(node.value):
            key = _string(node.slice)
            if key:
                names.add(key)
        if not isinstance(node, ast.Call):
            continue
        func, args = node.func, node.args
        first = _string(args[0]) if args else None
        if isinstance(func, ast.Attribute):
            owner = func.value
            if isinstance(owner, ast.Name) and owner.id == "env" and first:
                names.add(first)
            elif _is_environ(owner) and func.attr in {"get", "setdefault", "pop"} and first:
                names.add(first)
            elif func.attr == "getenv" and first:
                names.add(first)
        if any(_is_environ(arg) for arg in args):
            names.update(s for s in map(_string, args) if s and ENV_NAME.match(s))
    return names


def env_vars_read_by_code() -> set[str]:
    names: set[str] = set()
    for directory in SOURCE_DIRS:
        for path in (REPO / directory).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            names |= env_reads_in(path.read_text(encoding="utf-8"))
    return names


# -- external tools -----------------------------------------------------------------------------


def require_tool(name: str, *, env_var: str | None = None, hint: str = "") -> str:
    """The path of a command-line tool (``env_var`` names an override). Missing, it skips the
    test with one line, except under CI (``CI`` set), where every check must run: it fails."""
    path = shutil.which((os.environ.get(env_var) if env_var else None) or name)
    if path:
        return path
    message = f"{name} not found" + (f" ({hint})" if hint else "")
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run this check", pytrace=False)
    pytest.skip(message)


def kubectl_kustomize(directory: Path) -> list[dict[str, Any]]:
    """``kubectl kustomize DIR`` (offline), parsed; skips without kubectl (fails under CI)."""
    kubectl = require_tool("kubectl", hint="kubectl kustomize checks the kustomizations")
    out = subprocess.run(
        [kubectl, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]
