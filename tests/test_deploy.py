"""deploy/: the Grafana dashboard queries metrics the shipped scripts really export (names,
types and label names from the compiler), the Prometheus config scrapes the ports the
systemd instances serve on, and promtool accepts the config."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from pytrace.passes.context import Options
from pytrace.prometheus.mapping import metric_kind
from pytrace.prometheus.naming import family_name
from pytrace.source import Source

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
SUFFIXES = {"counter": ("_total",), "gauge": ("",), "summary": ("_count", "_sum"),
            "histogram": ("_bucket",)}
EXPORTER_LABELS = {"pytrace_exporter_map_keys": {"map"}, "pytrace_exporter_dropped_keys": {"map"}}


@cache
def exported(tool: str) -> dict[str, set[str]]:
    """Sample name -> label names, for every map of scripts/TOOL.bt."""
    from pytrace.driver import check_source

    path = ROOT / "scripts" / f"{tool}.bt"
    cp = check_source(Source(str(path), path.read_text()), Options())
    out: dict[str, set[str]] = {}
    for name, info in cp.maps.items():
        kind = metric_kind(info.value_type)
        if kind is None:
            continue
        labels = set(info.key_names) | ({"le"} if kind == "histogram" else set())
        for suffix in SUFFIXES[kind]:
            out[family_name(name) + suffix] = labels
    return out


def dashboard_exprs() -> list[str]:
    dash = json.loads((DEPLOY / "grafana" / "pytrace.json").read_text())
    return [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]


def test_dashboard_queries_metrics_and_labels_the_scripts_export() -> None:
    exprs = dashboard_exprs()
    assert len(exprs) >= 10
    for expr in exprs:
        jobs = re.findall(r'job="pytrace-(\w+)"', expr)
        for metric in re.findall(r"\b(pytrace_\w+)\b", expr):
            if metric in EXPORTER_LABELS:
                labels = EXPORTER_LABELS[metric]
            else:
                assert len(jobs) == 1, expr
                assert metric in exported(jobs[0]), (metric, sorted(exported(jobs[0])))
                labels = exported(jobs[0])[metric]
            for group in re.findall(r"by \(([^)]*)\)", expr):
                used = {g.strip() for g in group.split(",")}
                assert used <= labels, (expr, used, labels)


def scrape_jobs() -> dict[str, str]:
    text = (DEPLOY / "prometheus" / "prometheus.yml").read_text()
    return dict(re.findall(r"job_name: pytrace-(\w+)\n\s+static_configs:\n\s+- targets: "
                           r"\['localhost:(\d+)'\]", text))


def test_every_scrape_job_is_a_script_served_on_the_port_of_its_instance() -> None:
    jobs = scrape_jobs()
    assert set(jobs) == {"syscount", "readlatency", "readsize", "errnos"}
    for tool, port in jobs.items():
        assert (ROOT / "scripts" / f"{tool}.bt").exists()
        env = (DEPLOY / "systemd" / f"{tool}.env").read_text()
        assert f"PYTRACE_PROMETHEUS={port}\n" in env
    dash_jobs = {j for e in dashboard_exprs() for j in re.findall(r'job="pytrace-(\w+)"', e)}
    assert dash_jobs <= set(jobs)


def test_the_unit_runs_a_script_with_prometheus() -> None:
    unit = (DEPLOY / "systemd" / "pytrace@.service").read_text()
    start = next(ln for ln in unit.splitlines() if ln.startswith("ExecStart="))
    assert "--prometheus ${PYTRACE_PROMETHEUS}" in start and start.endswith("/%i.bt")
    assert "KillSignal=SIGINT" in unit and "EnvironmentFile=-/etc/pytrace/%i.env" in unit


def test_promtool_accepts_the_scrape_config() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool (Debian package prometheus) is not installed")
    r = subprocess.run([promtool, "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
