"""Shape checks for the Prometheus Operator objects (monitoring.coreos.com/v1), which
kubernetes-validate has no schema for.

Hand-written from the operator's CRDs (podmonitors and prometheusrules, v0.8x and v0.9x): only
the fields this repository uses or is likely to, with their types, required fields and the
operator's duration pattern. Unknown fields are rejected, as `kubectl apply` does with strict
field validation, so a misspelt field fails here instead of being dropped by the API server.
A field that is valid in the CRD but missing below is added here from the CRD.
"""

from __future__ import annotations

from typing import Any

import jsonschema

GROUP_VERSION = "monitoring.coreos.com/v1"

# The operator's pattern for every duration field (interval, scrapeTimeout, for, ...).
DURATION = {
    "type": "string",
    "pattern": (
        r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?"
        r"(([0-9]+)ms)?)$"
    ),
}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
STRING = {"type": "string"}
STRINGS = {"type": "array", "items": STRING}


def closed(properties: dict[str, Any], *required: str, **extra: Any) -> dict[str, Any]:
    """An object with these fields only (``required`` among them)."""
    shape = {"type": "object", "additionalProperties": False, "properties": properties}
    return shape | ({"required": list(required)} if required else {}) | extra


def operator_object(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A namespaced monitoring.coreos.com/v1 object of ``kind`` with this ``spec``."""
    metadata = closed(
        {
            "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
            "namespace": STRING,
            "labels": STRING_MAP,
            "annotations": STRING_MAP,
        },
        "name",
    )
    return closed(
        {
            "apiVersion": {"const": GROUP_VERSION},
            "kind": {"const": kind},
            "metadata": metadata,
            "spec": spec,
        },
        *("apiVersion", "kind", "metadata", "spec"),
    )


LABEL_SELECTOR = closed(
    {
        "matchLabels": STRING_MAP,
        "matchExpressions": {
            "type": "array",
            "items": closed(
                {
                    "key": STRING,
                    "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                    "values": STRINGS,
                },
                *("key", "operator"),
            ),
        },
    }
)

RELABEL_ACTIONS = [
    "replace", "keep", "drop", "hashmod", "labelmap", "labeldrop", "labelkeep",
    "lowercase", "uppercase", "keepequal", "dropequal",
]  # fmt: skip
RELABEL_CONFIG = closed(
    {
        "action": {"enum": RELABEL_ACTIONS + [a.capitalize() for a in RELABEL_ACTIONS]},
        "sourceLabels": STRINGS,
        "separator": STRING,
        "targetLabel": STRING,
        "regex": STRING,
        "replacement": STRING,
        "modulus": {"type": "integer"},
    }
)

POD_METRICS_ENDPOINT = closed(
    {
        "port": STRING,
        "portNumber": {"type": "integer", "minimum": 1, "maximum": 65535},
        "path": {"type": "string", "pattern": "^/"},
        "scheme": {"enum": ["http", "https", "HTTP", "HTTPS"]},
        "interval": DURATION,
        "scrapeTimeout": DURATION,
        "honorLabels": {"type": "boolean"},
        "honorTimestamps": {"type": "boolean"},
        "params": {"type": "object", "additionalProperties": STRINGS},
        "relabelings": {"type": "array", "items": RELABEL_CONFIG},
        "metricRelabelings": {"type": "array", "items": RELABEL_CONFIG},
    },
    # Which port: a named container port (what this repository uses) or its number.
    anyOf=[{"required": ["port"]}, {"required": ["portNumber"]}],
)

POD_MONITOR = operator_object(
    "PodMonitor",
    closed(
        {
            "selector": LABEL_SELECTOR,
            "namespaceSelector": closed({"any": {"type": "boolean"}, "matchNames": STRINGS}),
            "jobLabel": STRING,
            "podTargetLabels": STRINGS,
            "sampleLimit": {"type": "integer", "minimum": 0},
            "podMetricsEndpoints": {"type": "array", "minItems": 1, "items": POD_METRICS_ENDPOINT},
        },
        # Newer CRDs require only `selector`, older ones both. Without an endpoint a
        # PodMonitor scrapes nothing, so both are required here.
        *("selector", "podMetricsEndpoints"),
    ),
)

RULE = closed(
    {
        "alert": {"type": "string", "minLength": 1},
        "record": {"type": "string", "minLength": 1},
        "expr": {"type": ["string", "integer"]},
        "for": DURATION,
        "keep_firing_for": DURATION,
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
    },
    "expr",
    # "Only one of `record` and `alert` must be set."
    oneOf=[{"required": ["alert"]}, {"required": ["record"]}],
)

RULE_GROUP = closed(
    {
        "name": {"type": "string", "minLength": 1},
        "interval": DURATION,
        "limit": {"type": "integer"},
        "rules": {"type": "array", "minItems": 1, "items": RULE},
    },
    *("name", "rules"),
)

PROMETHEUS_RULE = operator_object(
    "PrometheusRule",
    closed({"groups": {"type": "array", "minItems": 1, "items": RULE_GROUP}}, "groups"),
)

SCHEMAS = {"PodMonitor": POD_MONITOR, "PrometheusRule": PROMETHEUS_RULE}


def is_operator_object(obj: dict[str, Any]) -> bool:
    return str(obj.get("apiVersion", "")).startswith("monitoring.coreos.com/")


def shape_errors(obj: dict[str, Any]) -> list[str]:
    """Every way ``obj`` differs from the shape above, as ``path: message`` lines."""
    schema = SCHEMAS.get(obj.get("kind", ""))
    if schema is None:
        return [f"no shape for kind {obj.get('kind')!r}: add it to tests/deploy/crd_shapes.py"]
    errors = []
    for error in jsonschema.Draft202012Validator(schema).iter_errors(obj):
        where = ".".join(str(part) for part in error.absolute_path) or "(top)"
        errors.append(f"{where}: {error.message}")
    # A list-map keyed by name in the CRD: two groups with one name are refused.
    if obj.get("kind") == "PrometheusRule" and not errors:
        names = [group["name"] for group in obj["spec"]["groups"]]
        errors += [f"spec.groups: duplicate name {n!r}" for n in set(names) if names.count(n) > 1]
    return errors
