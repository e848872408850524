"""deploy/Containerfile without a container engine.

The static tests read the file (exec-form entry, non-root user, the streaming volume, the
build context). The slow test *executes* it: it rebuilds the build context from .dockerignore,
runs every RUN command of both stages in a fresh virtual environment (the same pip install,
non-editable, then collectstatic), with every container path mapped into a temporary
directory, and then runs the pod's commands with the environment the Kubernetes manifests
give each container: migrate, migrate --check, run_cleanup --once and the long-running
run_cleanup (SIGTERM -> exit 0), cleanup_status (full and --liveness), and the image's CMD,
gunicorn, bound to 127.0.0.1 (GET /admin/login/ and a static file -> 200, SIGTERM -> exit 0).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.commandline import free_port
from tests.polling import wait_for

from .support import BASE, CONTAINERFILE, REPO, containers, find, render

# Commands of the Containerfile that only make sense inside an image (a user for USER; file
# ownership for it). The test runs everything else; an unknown command fails it.
CONTAINER_ONLY = {"groupadd", "useradd", "chown"}
# The image's paths, and the pod's volumes, mapped to directories of the test.
CONTAINER_PATHS = ("/opt/venv", "/src", "/app", "/etc/tarsy", "/tmp")


@dataclass
class Instruction:
    keyword: str
    args: str
    flags: dict[str, str] = field(default_factory=dict)


def parse_containerfile(text: str) -> list[Instruction]:
    """Instructions in order; continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "dangling line continuation"
    instructions = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        flags = {}
        while rest.startswith("--"):
            flag, _, rest = rest.partition(" ")
            name, _, value = flag[2:].partition("=")
            flags[name] = value
        instructions.append(Instruction(keyword.upper(), rest.strip(), flags))
    return instructions


def env_pairs(args: str) -> dict[str, str]:
    """``ENV A=1 B="two words"`` as a dict (values unexpanded)."""
    return dict(token.split("=", 1) for token in shlex.split(args))


def instructions() -> list[Instruction]:
    return parse_containerfile(CONTAINERFILE.read_text(encoding="utf-8"))


def final_stage() -> list[Instruction]:
    steps = instructions()
    last_from = max(i for i, step in enumerate(steps) if step.keyword == "FROM")
    return steps[last_from:]


# -- static checks ----------------------------------------------------------------------------


def test_entry_is_exec_form_and_runs_gunicorn() -> None:
    stage = final_stage()
    assert not [s for s in stage if s.keyword == "ENTRYPOINT"], "CMD alone: the pod overrides it"
    [cmd] = [s for s in stage if s.keyword == "CMD"]
    argv = json.loads(cmd.args)  # exec form is a JSON array; shell form would not parse
    assert argv[0] == "gunicorn" and "tarsy_project.wsgi:application" in argv
    assert not {"sh", "bash", "/bin/sh", "-c"} & set(argv)
    assert argv[argv.index("--bind") + 1] == "0.0.0.0:8000"
    exposed = [s.args for s in stage if s.keyword == "EXPOSE"]
    assert exposed == ["8000"]


def test_runs_as_a_non_root_user() -> None:
    [user] = [s for s in final_stage() if s.keyword == "USER"]
    uid = user.args.split(":")[0]
    assert uid not in {"0", "root"}
    manifests_uid = find(render(BASE), "Deployment")["spec"]["template"]["spec"]
    assert str(manifests_uid["securityContext"]["runAsUser"]) == uid


def test_python_3_12_slim_base() -> None:
    [arg] = [s for s in instructions() if s.keyword == "ARG" and s.args.startswith("PYTHON_IMAGE")]
    image = arg.args.split("=", 1)[1]
    assert re.search(r"python:3\.12-slim", image), image
    assert sum(s.keyword == "FROM" for s in instructions()) == 2


def test_streaming_log_directory_is_a_volume() -> None:
    stage = final_stage()
    [volume] = [json.loads(s.args) for s in stage if s.keyword == "VOLUME"]
    [workdir] = [s.args for s in stage if s.keyword == "WORKDIR"]
    deployment = find(render(BASE), "Deployment")
    mount = next(
        m["mountPath"]
        for m in containers(deployment)["cleanup"]["volumeMounts"]
        if m["name"] == "streaming-logs"
    )
    # The default base_dir (logs/streaming, relative to the working directory) is the volume,
    # so the image works with no tarsy.yaml too; the manifests mount the emptyDir there.
    assert volume == [f"{workdir}/logs/streaming"] == [mount]


def dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    patterns = []
    for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = ""
        for part in re.split(r"(\*\*/|/\*\*|\*\*|\*|\?)", pattern):
            regex += {
                "**/": "(?:.*/)?",
                "/**": "(?:/.*)?",
                "**": ".*",
                "*": "[^/]*",
                "?": "[^/]",
            }.get(part, re.escape(part))
        patterns.append((negate, re.compile(regex + "$")))
    return patterns


def excluded(relative: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern matching a parent directory
    matches everything under it."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for negate, regex in patterns:
        if any(regex.match(prefix) for prefix in prefixes):
            result = not negate
    return result


def build_context(destination: Path) -> list[str]:
    """Copy the repository as `podman/docker build .` would send it; return the files."""
    patterns = dockerignore_patterns()
    copied = []
    for root, dirs, files in os.walk(REPO):
        rel_root = Path(root).relative_to(REPO).as_posix()
        rel_root = "" if rel_root == "." else rel_root + "/"
        # Prune excluded directories no negation could reach into.
        dirs[:] = [
            d
            for d in dirs
            if not excluded(rel_root + d, patterns)
            or any(neg and rx.pattern.startswith(re.escape(rel_root + d)) for neg, rx in patterns)
        ]
        for name in files:
            relative = rel_root + name
            if excluded(relative, patterns):
                continue
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(root) / name, target)
            copied.append(relative)
    return copied


def test_build_context_is_the_sources_only(tmp_path: Path) -> None:
    files = set(build_context(tmp_path))
    assert {"pyproject.toml", "README.md", "manage.py", "deploy/gunicorn.conf.py"} <= files
    assert "tarsy_project/settings.py" in files
    for prefix in (".git/", ".venv/", "var/", "tests/", "deploy/kubernetes/"):
        assert not any(f.startswith(prefix) for f in files), prefix
    assert not any("__pycache__" in f or f.endswith(".pyc") for f in files)
    # Every file the Containerfile copies from the context is in it.
    for step in instructions():
        if step.keyword == "COPY" and "from" not in step.flags:
            *sources, _ = step.args.split()
            for source in sources:
                assert source == "." or source in files, source


# -- executing it -----------------------------------------------------------------------------


def base_environment() -> dict[str, str]:
    """The machine's environment (pip's index settings included) without anything that
    would leak this checkout's settings into the image's processes."""
    drop = {
        "DJANGO_SETTINGS_MODULE",
        "PYTHONPATH",
        "VIRTUAL_ENV",
        "PYTHONHOME",
        "DATABASE_URL",
        "TARSY_CONFIG",
        "TARSY_HEARTBEAT_FILE",
        "LOG_LEVEL",
        "LOG_FORMAT",
        "SECRET_KEY",
        "DEBUG",
        "ALLOWED_HOSTS",
        "STATIC_ROOT",
    }
    env = {k: v for k, v in os.environ.items() if k not in drop}
    # `python` in the build stage is the interpreter running the tests (3.12).
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


class Image:
    """The Containerfile's filesystem, mapped into a temporary directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.paths = {path: root / path.strip("/").replace("/", "_") for path in CONTAINER_PATHS}
        self.context = root / "context"
        self.env: dict[str, str] = {}
        self.workdir = root
        self.cmd: list[str] = []
        self.skipped: list[str] = []
        self.log: list[str] = []

    def map(self, text: str) -> str:
        """Replace every container path at a path boundary (``sqlite:////app/x`` too)."""
        alternatives = "|".join(map(re.escape, sorted(self.paths, key=len, reverse=True)))
        pattern = rf"(?<![\w.])({alternatives})(?=/|$|:|\s)"
        # One pass: a mapped path (under /tmp itself) is never mapped again.
        return re.sub(pattern, lambda m: str(self.paths[m[1]]), text)

    def run(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        executable = shutil.which(argv[0], path=kwargs.get("env", self.env)["PATH"])
        assert executable, f"{argv[0]} not found on PATH"
        self.log.append(shlex.join(argv))
        return subprocess.run(
            [executable, *argv[1:]],
            cwd=kwargs.pop("cwd", self.workdir),
            env=kwargs.pop("env", self.env),
            capture_output=True,
            text=True,
            timeout=kwargs.pop("timeout", 120),
            check=False,
        )

    def build(self) -> None:
        build_context(self.context)
        for step in instructions():
            getattr(self, f"do_{step.keyword.lower()}")(step)

    def do_arg(self, step: Instruction) -> None:
        pass

    def do_from(self, step: Instruction) -> None:
        self.env = base_environment()  # ENV does not cross stages

    def do_env(self, step: Instruction) -> None:
        for key, value in env_pairs(step.args).items():
            value = re.sub(r"\$(\w+)|\$\{(\w+)\}", lambda m: self.env.get(m[1] or m[2], ""), value)
            self.env[key] = self.map(value)

    def do_workdir(self, step: Instruction) -> None:
        self.workdir = Path(self.map(step.args))
        self.workdir.mkdir(parents=True, exist_ok=True)

    def do_copy(self, step: Instruction) -> None:
        *sources, destination = step.args.split()
        if "from" in step.flags:
            # Both stages share this filesystem: the build stage's venv is already in place.
            assert sources == [destination], "COPY --from must keep the path"
            assert Path(self.map(destination)).exists()
            return
        target = Path(self.map(destination))
        for source in sources:
            origin = self.context / source
            if origin.is_dir():
                shutil.copytree(origin, target, dirs_exist_ok=True)
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target / origin.name)

    def do_run(self, step: Instruction) -> None:
        for command in step.args.split(" && "):
            argv = [self.map(token) for token in shlex.split(command)]
            if argv[0] in CONTAINER_ONLY:
                self.skipped.append(argv[0])
                continue
            result = self.run(argv, timeout=600)
            assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"

    def do_user(self, step: Instruction) -> None:
        pass

    def do_volume(self, step: Instruction) -> None:
        for path in json.loads(step.args):
            assert Path(self.map(path)).is_dir(), f"VOLUME {path} was not created"

    def do_expose(self, step: Instruction) -> None:
        pass

    def do_cmd(self, step: Instruction) -> None:
        self.cmd = json.loads(step.args)


def pod_env(image: Image, container: dict, secrets: dict[str, str]) -> dict[str, str]:
    """The image's ENV plus what the manifest gives this container, paths mapped."""
    env = dict(image.env)
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = image.map(item["value"])
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = secrets[ref["key"]]
    return env


def json_lines(stderr: str) -> list[dict]:
    lines = [line for line in stderr.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"LOG_FORMAT=json, but this stderr line is not JSON: {line!r}")
    return parsed


def http_get(port: int, path: str, host: str) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def stop(process: subprocess.Popen, timeout: float) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        pytest.fail(f"did not exit within {timeout}s of SIGTERM:\n{stderr}")
    return process.returncode, stderr


@pytest.mark.slow
def test_containerfile_commands_work_without_an_engine(tmp_path: Path) -> None:
    image = Image(tmp_path)
    image.build()
    assert sorted(set(image.skipped)) == sorted(CONTAINER_ONLY), image.skipped
    venv = image.paths["/opt/venv"]
    app = image.paths["/app"]

    # Installed non-editable: the code comes from site-packages, with its templates.
    site = Path(
        sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)})
    ).resolve()
    probe = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import tarsy_project; print(tarsy_project.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(probe.stdout.strip()).resolve().is_relative_to(site)
    for package in ("tarsy_project", "sessions", "retention", "streaming"):
        for data in (REPO / package).rglob("*"):
            if data.is_file() and data.suffix not in {".py", ".pyc"}:
                relative = data.relative_to(REPO)
                assert (site / relative).is_file(), f"{relative} missing from the wheel"
    assert (Path(image.env["STATIC_ROOT"]) / "admin" / "css" / "base.css").is_file()

    # The pod: the manifests' env for each container; secrets from the test.
    objects = render(BASE)
    pod = containers(find(objects, "Deployment"))
    job = containers(find(objects, "Job"))["migrate"]
    secrets = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'tarsy.sqlite3'}",
        "SECRET_KEY": "containerfile-test-secret-key-" + "x" * 30,
    }
    config_map = find(objects, "ConfigMap")
    config_dir = image.paths["/etc/tarsy"]
    config_dir.mkdir(parents=True, exist_ok=True)
    for name, text in config_map["data"].items():
        (config_dir / name).write_text(image.map(text), encoding="utf-8")

    migrate = image.run(job["command"], env=pod_env(image, job, secrets))
    assert migrate.returncode == 0, migrate.stderr
    json_lines(migrate.stderr)
    wait = pod["wait-for-migrations"]
    check = image.run(wait["command"], env=pod_env(image, wait, secrets))
    assert check.returncode == 0, check.stderr

    # The sidecar: --once sweeps an old file from the shared directory, beats the heartbeat.
    sidecar = pod["cleanup"]
    sidecar_env = pod_env(image, sidecar, secrets)
    streaming = Path(yaml.safe_load((config_dir / "tarsy.yaml").read_text())["system"]
                     ["streaming_logs"]["base_dir"])  # fmt: skip
    assert streaming == app / "logs" / "streaming" and streaming.is_dir()
    old = streaming / "session-old.log"
    old.write_text("done\n")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    once = image.run([*sidecar["command"], "--once"], env=sidecar_env)
    assert once.returncode == 0, once.stderr
    records = json_lines(once.stderr)
    assert {"retention", "sweep"} <= {r.get("job") for r in records}, records
    assert not old.exists(), "the sweeper did not clean the shared directory"
    heartbeat = Path(sidecar_env["TARSY_HEARTBEAT_FILE"])
    assert heartbeat.is_file() and heartbeat.is_relative_to(image.paths["/tmp"])

    liveness = sidecar["livenessProbe"]["exec"]["command"]
    alive = image.run(liveness, env=sidecar_env)
    assert alive.returncode == 0, alive.stderr
    status = image.run(["python", "manage.py", "cleanup_status"], env=sidecar_env)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "OK" in status.stdout

    # The sidecar's own command, as PID 1 would run it: SIGTERM ends it with exit 0.
    heartbeat.unlink()
    executable = shutil.which("python", path=sidecar_env["PATH"])
    loop = subprocess.Popen(
        [executable, *sidecar["command"][1:]],
        cwd=app,
        env=sidecar_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(heartbeat.exists, 60, "the sidecar's first heartbeat")
    finally:
        code, stderr = stop(loop, timeout=30)
    assert code == 0, stderr
    json_lines(stderr)

    # The web container: the image's CMD, bound to loopback on a free port.
    web = pod["web"]
    web_env = pod_env(image, web, secrets)
    port = free_port()
    argv = list(image.cmd)
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    server = subprocess.Popen(
        [shutil.which(argv[0], path=web_env["PATH"]), *argv[1:]],
        cwd=app,
        env=web_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def listening() -> bool:
            assert server.poll() is None, server.communicate()[1]
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", port)) == 0

        wait_for(listening, 60, "gunicorn to listen")
        status_code, body = http_get(port, "/admin/login/", "127.0.0.1")
        assert status_code == 200, body[:2000]
        assert b'name="username"' in body
        # The kubelet's readiness probe sends Host: localhost.
        probe_get = web["readinessProbe"]["httpGet"]
        probe_host = {h["name"]: h["value"] for h in probe_get["httpHeaders"]}["Host"]
        assert http_get(port, probe_get["path"], probe_host)[0] == 200
        static_code, css = http_get(port, "/static/admin/css/base.css", "127.0.0.1")
        assert static_code == 200 and len(css) > 1000
    finally:
        code, stderr = stop(server, timeout=40)
    assert code == 0, stderr
    records = json_lines(stderr)
    access = [r for r in records if r.get("logger") == "gunicorn.access"]
    assert any(r.get("path") == "/admin/login/" and r.get("status") == 200 for r in access), records
