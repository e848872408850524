"""Helpers for the metrics tests: parse the text format, read values, check the contract."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.metrics_contract import LABEL_VALUES, METRICS

HISTOGRAM_LABELS = {"le"}


@dataclass(frozen=True)
class Scrape:
    """One scrape, parsed with prometheus_client's text parser."""

    text: str

    def families(self) -> dict[str, tuple[str, list]]:
        """Contract name -> (type, samples). A counter's family is named without ``_total``
        by the parser; the contract names it with."""
        found = {}
        for family in text_string_to_metric_families(self.text):
            name = family.name + "_total" if family.type == "counter" else family.name
            found[name] = (family.type, family.samples)
        return found

    def value(self, name: str, **labels: str) -> float | None:
        """The sample called ``name`` with exactly ``labels``; None when absent."""
        for family in text_string_to_metric_families(self.text):
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return sample.value
        return None


def scrape_registry(registry: CollectorRegistry) -> Scrape:
    return Scrape(generate_latest(registry).decode())


def scrape_url(port: int, *, host: str = "127.0.0.1", timeout: float = 5) -> Scrape:
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=timeout) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        return Scrape(response.read().decode())


def scrape_until(port: int, predicate: Callable[[Scrape], bool], *, timeout: float = 10) -> Scrape:
    """The first scrape that satisfies ``predicate`` (a run's line is logged before its
    listeners hear of its end, so a scrape right after the line may not show the run yet)."""
    deadline = time.monotonic() + timeout
    while True:
        scrape = scrape_url(port)
        if predicate(scrape) or time.monotonic() > deadline:
            return scrape
        time.sleep(0.05)


def runs_reach(job: str, outcome: str, count: int) -> Callable[[Scrape], bool]:
    """Whether a scrape counts at least ``count`` runs of ``job`` ending in ``outcome``."""
    metric = "tarsy_ops_job_runs_total"
    return lambda scrape: (scrape.value(metric, job=job, outcome=outcome) or 0) >= count


def contract_violations(scrape: Scrape, *, complete: bool) -> list[str]:
    """How the scrape differs from the contract: names (all of them when ``complete``), types,
    label names, label values. Empty when it matches."""
    problems = []
    families = scrape.families()
    missing = set(METRICS) - set(families) if complete else set()
    problems += [f"missing {name}" for name in sorted(missing)]
    for name, (kind, samples) in sorted(families.items()):
        contract = METRICS.get(name)
        if contract is None:
            problems.append(f"not in the contract: {name}")
            continue
        if kind != contract.kind:
            problems.append(f"{name} is a {kind}, the contract says {contract.kind}")
        for sample in samples:
            names = set(sample.labels) - (HISTOGRAM_LABELS if kind == "histogram" else set())
            if names != set(contract.labels):
                problems.append(f"{sample.name} has labels {sorted(names)}")
            for label in names & set(LABEL_VALUES):
                if sample.labels[label] not in LABEL_VALUES[label]:
                    problems.append(f"{sample.name}: {label}={sample.labels[label]!r}")
    return problems
