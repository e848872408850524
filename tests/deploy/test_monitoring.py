"""The optional monitoring component (deploy/kubernetes/components/monitoring): the sidecar's
metrics port, the PodMonitor that scrapes it, and the PrometheusRule's alerts, checked against
the metrics contract (metrics_contract.py) and by promtool (`check rules`, `test rules`)."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.exceptions import ImproperlyConfigured

from tarsy_project.settings import metrics_port

from . import metrics_contract as contract
from .crd_shapes import is_operator_object, shape_errors
from .support import (
    BASE,
    KUBE,
    MONITORING,
    MONITORING_OVERLAY,
    OVERLAY,
    REPO,
    containers,
    find,
    kubectl_kustomize,
    kustomize_files,
    load_documents,
    load_yaml,
    render,
    require_tool,
)

PROMETHEUS_RULE = MONITORING / "prometheusrule.yaml"
POD_MONITOR = MONITORING / "podmonitor.yaml"
PROMTOOL_TESTS = Path(__file__).with_name("alerts.promtool-test.yaml")
SEVERITIES = {"critical", "warning", "info"}
# The contract's series in PromQL (every name starts with tarsy_ops_) and their matchers.
SERIES_SELECTOR = re.compile(r"\b(tarsy_ops_\w+)\s*(\{[^}]*\})?")
MATCHER = re.compile(r'(\w+)\s*(?:=~|!~|!=|=)\s*"([^"]*)"')


def promtool() -> str:
    return require_tool(
        "promtool", env_var="PROMTOOL", hint="Debian's prometheus package; .ci/run installs it"
    )


def rule_object() -> dict[str, Any]:
    return find(load_documents(PROMETHEUS_RULE), "PrometheusRule")


def alert_rules(prometheus_rule: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    spec = (prometheus_rule or rule_object())["spec"]
    return [rule for group in spec["groups"] for rule in group["rules"] if "alert" in rule]


def write_rules(directory: Path, prometheus_rule: dict[str, Any]) -> Path:
    """The PrometheusRule's spec as a plain Prometheus rules file (what the operator loads)."""
    path = directory / "rules.yaml"
    path.write_text(yaml.safe_dump(prometheus_rule["spec"], sort_keys=False), encoding="utf-8")
    return path


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


# -- the metrics port -----------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "port"), [("", None), ("  ", None), ("9102", 9102), ("1", 1)])
def test_metrics_port_setting(raw: str, port: int | None) -> None:
    assert metrics_port(raw) == port


@pytest.mark.parametrize("raw", ["abc", "0", "65536", "-1", "9102.0", "²"])
def test_metrics_port_setting_refuses_a_bad_value(raw: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^METRICS_PORT must be a port number") as exc:
        metrics_port(raw)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("directory", (BASE, OVERLAY), ids=("base", "pre-1.29"))
def test_the_sidecar_serves_metrics_on_its_named_port(directory: Path) -> None:
    deployment = find(render(directory), "Deployment")
    sidecar = containers(deployment)["cleanup"]
    env = {item["name"]: item.get("value") for item in sidecar["env"]}
    [port] = [p for p in sidecar["ports"] if p["name"] == "metrics"]
    assert metrics_port(env["METRICS_PORT"]) == port["containerPort"]
    assert port["protocol"] == "TCP"
    web = containers(deployment)["web"]
    assert "METRICS_PORT" not in {item["name"] for item in web["env"]}
    assert "metrics" not in {p["name"] for p in web["ports"]}


# -- the component is optional --------------------------------------------------------------------


def test_component_kustomization_is_a_component() -> None:
    doc = load_yaml(MONITORING / "kustomization.yaml")
    assert doc["apiVersion"] == "kustomize.config.k8s.io/v1alpha1"
    assert doc["kind"] == "Component"
    used = {path.name for path in kustomize_files(MONITORING)}
    assert used == {p.name for p in MONITORING.iterdir() if p.name != "kustomization.yaml"}
    overlay = load_yaml(MONITORING_OVERLAY / "kustomization.yaml")
    assert [(MONITORING_OVERLAY / c).resolve() for c in overlay["components"]] == [MONITORING]


@pytest.mark.parametrize("directory", (KUBE, BASE, OVERLAY), ids=lambda p: p.name)
def test_base_and_pre_1_29_need_no_prometheus_operator(directory: Path) -> None:
    assert not [obj for obj in render(directory) if is_operator_object(obj)]


def test_the_overlay_adds_only_the_monitoring_objects() -> None:
    base = render(BASE)
    monitored = render(MONITORING_OVERLAY)
    added = [obj for obj in monitored if obj not in base]
    assert sorted(obj["kind"] for obj in added) == ["PodMonitor", "PrometheusRule"]
    assert [obj for obj in monitored if obj not in added] == base


@pytest.mark.parametrize("directory", (MONITORING, MONITORING_OVERLAY), ids=lambda p: p.name)
def test_kubectl_kustomize_builds_the_monitoring_objects(directory: Path) -> None:
    """The real kustomize renders the component's objects unchanged, alone and in the overlay
    (the overlay's other objects are compared in test_kubernetes.py)."""
    real = [obj for obj in kubectl_kustomize(directory) if is_operator_object(obj)]
    mine = load_documents(POD_MONITOR) + load_documents(PROMETHEUS_RULE)
    key = lambda obj: obj["kind"]  # noqa: E731
    assert sorted(real, key=key) == sorted(mine, key=key)


# -- shape of the operator objects ----------------------------------------------------------------


@pytest.mark.parametrize("path", (POD_MONITOR, PROMETHEUS_RULE), ids=lambda p: p.name)
def test_operator_objects_have_the_crd_shape(path: Path) -> None:
    for obj in load_documents(path):
        assert shape_errors(obj) == []


def _endpoint(doc: dict) -> dict:
    return doc["spec"]["podMetricsEndpoints"][0]


def _rule(doc: dict) -> dict:
    return doc["spec"]["groups"][0]["rules"][0]


def _groups(doc: dict) -> list:
    return doc["spec"]["groups"]


# Each breaks one thing the CRD refuses (or the API server would silently drop).
BROKEN: list[tuple[str, Path, Any]] = [
    ("misspelt field", POD_MONITOR, lambda d: _endpoint(d).update(honourLabels=True)),
    ("no selector", POD_MONITOR, lambda d: d["spec"].pop("selector")),
    ("port as a list", POD_MONITOR, lambda d: _endpoint(d).update(port=[9102])),
    ("bad interval", POD_MONITOR, lambda d: _endpoint(d).update(interval="30")),
    ("wrong group", POD_MONITOR, lambda d: d.update(apiVersion="monitoring.coreos.com/v2")),
    ("bad for", PROMETHEUS_RULE, lambda d: _rule(d).update({"for": "15 min"})),
    ("number label", PROMETHEUS_RULE, lambda d: _rule(d).update(labels={"a": 1})),
    ("no expr", PROMETHEUS_RULE, lambda d: _rule(d).pop("expr")),
    ("alert and record", PROMETHEUS_RULE, lambda d: _rule(d).update(record="x")),
    ("unnamed group", PROMETHEUS_RULE, lambda d: _groups(d)[0].pop("name")),
    ("same group twice", PROMETHEUS_RULE, lambda d: _groups(d).append(_groups(d)[0])),
]  # fmt: skip


@pytest.mark.parametrize(("what", "path", "change"), BROKEN, ids=[b[0] for b in BROKEN])
def test_the_shape_check_can_fail(what: str, path: Path, change: Any) -> None:
    [doc] = load_documents(path)
    broken = copy.deepcopy(doc)
    change(broken)
    assert shape_errors(broken), f"{what} passed the shape check"


# -- the PodMonitor -------------------------------------------------------------------------------


def test_pod_monitor_scrapes_the_sidecars_metrics_port() -> None:
    monitor = find(render(MONITORING_OVERLAY), "PodMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["path"] == "/metrics"
    for directory in (MONITORING_OVERLAY, OVERLAY):
        objects = render(directory)
        deployment = find(objects, "Deployment")
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        assert endpoint["port"] in {p["name"] for p in containers(deployment)["cleanup"]["ports"]}
        job = find(objects, "Job")
        assert not selector.items() <= job["spec"]["template"]["metadata"]["labels"].items()


def test_pod_monitor_keeps_the_contracts_job_label() -> None:
    """The metrics carry `job` (retention, orphans, sweep), which Prometheus would rename to
    exported_job without honorLabels; the target's own job is fixed for TarsyOpsMetricsAbsent."""
    [endpoint] = find(load_documents(POD_MONITOR), "PodMonitor")["spec"]["podMetricsEndpoints"]
    assert endpoint["honorLabels"] is True
    [relabel] = [r for r in endpoint["relabelings"] if r.get("targetLabel") == "job"]
    assert relabel.get("action", "replace") == "replace" and "sourceLabels" not in relabel
    [absent] = [r for r in alert_rules() if r["alert"] == "TarsyOpsMetricsAbsent"]
    assert f'up{{job="{relabel["replacement"]}"}}' in absent["expr"]
    assert relabel["replacement"] not in contract.LABEL_VALUES["job"]


# -- the alerts -----------------------------------------------------------------------------------


def test_the_contracts_alerts_are_there() -> None:
    names = [rule["alert"] for rule in alert_rules()]
    assert len(names) == len(set(names)), "one rule per alert"
    assert contract.ALERTS <= set(names) <= contract.ALERTS | contract.OPTIONAL_ALERTS


def readme_headings() -> set[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return {line.lstrip("#").strip() for line in text.splitlines() if line.startswith("### ")}


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: r["alert"])
def test_every_alert_is_actionable(rule: dict[str, Any]) -> None:
    assert re.fullmatch(r"(\d+[smhd])+", rule["for"]), "a `for:` duration, so a blip never pages"
    assert rule["labels"]["severity"] in SEVERITIES
    summary = rule["annotations"]["summary"]
    description = rule["annotations"]["description"]
    assert summary.strip() and "\n" not in summary
    assert "Check first:" in description, "say what to check first"
    cited = set(re.findall(r'README\.md, "([^"]+)"', description))
    assert cited, "point at the README's section"
    assert cited <= readme_headings(), f"no such README section: {cited - readme_headings()}"


def test_alert_rules_use_only_the_contracts_metrics_and_labels() -> None:
    used: set[str] = set()
    for rule in alert_rules():
        selectors = SERIES_SELECTOR.findall(rule["expr"])
        # Only the alert on the scrape itself may do without the contract's metrics.
        assert selectors or rule["expr"].lstrip().startswith("up{"), rule["alert"]
        for series, matchers in selectors:
            metric = contract.metric_of_series(series)
            assert metric, f"{rule['alert']}: {series} is not in the metrics contract"
            used.add(metric)
            for label, value in MATCHER.findall(matchers):
                assert label in contract.METRICS[metric].labels, f"{series} has no label {label}"
                assert value in contract.LABEL_VALUES[label], f"{label}={value!r} unknown"
    assert used >= {
        "tarsy_ops_job_last_success_timestamp_seconds",
        "tarsy_ops_job_interval_seconds",
        "tarsy_ops_step_consecutive_failures",
        "tarsy_ops_sweep_stale_active_files",
        "tarsy_ops_streaming_bytes",
        "tarsy_ops_streaming_filesystem_free_ratio",
    }


def test_the_contract_check_can_fail() -> None:
    assert contract.metric_of_series("tarsy_ops_job_duration_seconds_bucket")
    assert contract.metric_of_series("tarsy_ops_job_duration_seconds_total") is None
    assert contract.metric_of_series("tarsy_ops_streaming_byte") is None
    assert SERIES_SELECTOR.findall('rate(tarsy_ops_job_runs_total{job="sweep"}[5m])') == [
        ("tarsy_ops_job_runs_total", '{job="sweep"}')
    ]


# -- promtool -------------------------------------------------------------------------------------


def test_promtool_check_rules(tmp_path: Path) -> None:
    out = run([promtool(), "check", "rules", str(write_rules(tmp_path, rule_object()))])
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in out.stdout


def test_promtool_check_rules_can_fail(tmp_path: Path) -> None:
    broken = rule_object()
    broken["spec"]["groups"][0]["rules"][0]["expr"] = "tarsy_ops_streaming_bytes >"
    out = run([promtool(), "check", "rules", str(write_rules(tmp_path, broken))])
    assert out.returncode != 0


def test_promtool_test_rules(tmp_path: Path) -> None:
    """Each alert fires on its condition and stays silent otherwise: the cases are in
    alerts.promtool-test.yaml, next to this file."""
    write_rules(tmp_path, rule_object())
    tests = shutil.copy(PROMTOOL_TESTS, tmp_path)
    out = run([promtool(), "test", "rules", str(tests)])
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_promtool_tests_cover_every_alert_both_ways() -> None:
    doc = load_yaml(PROMTOOL_TESTS)
    assert doc["rule_files"] == ["rules.yaml"]
    fires: set[str] = set()
    silent: set[str] = set()
    for case in doc["tests"]:
        for check in case.get("alert_rule_test", []):
            (fires if check["exp_alerts"] else silent).add(check["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert fires == names, f"no firing case for {names - fires}"
    assert silent == names, f"no silent case for {names - silent}"


def test_promtool_tests_can_fail(tmp_path: Path) -> None:
    """A weaker condition (a single failure) makes the unit tests fail."""
    weaker = rule_object()
    [rule] = [r for r in alert_rules(weaker) if r["alert"] == "TarsyOpsStepFailing"]
    assert ">= 2" in rule["expr"]
    rule["expr"] = rule["expr"].replace(">= 2", ">= 1")
    write_rules(tmp_path, weaker)
    tests = shutil.copy(PROMTOOL_TESTS, tmp_path)
    out = run([promtool(), "test", "rules", str(tests)])
    assert out.returncode != 0
    assert "TarsyOpsStepFailing" in out.stdout + out.stderr
