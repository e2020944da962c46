"""End to end: a real Prometheus server (Debian's `prometheus`) on loopback scrapes
`pytrace --prometheus` every second; PromQL through its HTTP API must return the
labelled counter series and the histogram's `_bucket` series with the workload's values;
every query of the shipped Grafana dashboard must parse.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prom_harness import pytrace_exporter, wait_for

ROOT = Path(__file__).resolve().parents[2]
PROG = ('tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @calls[comm] = count(); } '
        'tracepoint:syscalls:sys_enter_write /pid == cpid/ { @sizes = hist(args.count); }')
COMM = "pt_prom_e2e"
WORKLOAD = [COMM, "getppid", "7", "write", "5", "100", "sleep", "120"]


def prometheus_binary() -> str:
    path = shutil.which("prometheus")
    if path is None:
        why = "the prometheus server is not installed (apt-get install prometheus)"
        if os.environ.get("PYTRACE_REQUIRE_KERNEL") == "1":
            pytest.fail(f"PYTRACE_REQUIRE_KERNEL=1 but {why}", pytrace=False)
        pytest.skip(why)
    return path


def dashboard_exprs() -> list[str]:
    dash = json.loads((ROOT / "deploy" / "grafana" / "pytrace.json").read_text())
    return [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Prometheus:
    """A running Prometheus server's HTTP API."""

    def __init__(self, url: str, log_path: Path) -> None:
        self.url = url
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except OSError:
            return 0, b""

    def query(self, promql: str) -> list[dict[str, object]]:
        status, body = self.get("/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
        if status != 200:
            return []
        data = json.loads(body)
        assert data["status"] == "success", data
        return list(data["data"]["result"])

    def value(self, promql: str) -> float | None:
        result = self.query(promql)
        return float(result[0]["value"][1]) if len(result) == 1 else None  # type: ignore[index]


Start = Callable[[str], Prometheus]


@pytest.fixture
def start_prometheus(tmp_path: Path) -> Iterator[Start]:
    """Starts Prometheus scraping one target every second, with its storage in tmp_path;
    stops it at the end of the test."""
    binary = prometheus_binary()
    procs: list[subprocess.Popen[bytes]] = []
    log_path = tmp_path / "prometheus.log"

    def start(target: str) -> Prometheus:
        port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                          "scrape_configs:\n  - job_name: pytrace\n    static_configs:\n"
                          f"      - targets: ['{target}']\n")
        with log_path.open("wb") as log:
            procs.append(subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                stdout=log, stderr=log))
        return Prometheus(f"http://127.0.0.1:{port}", log_path)

    try:
        yield start
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_prometheus_scrapes_labelled_counters_and_histogram_buckets(
        start_prometheus: Start) -> None:
    with pytrace_exporter(PROG, WORKLOAD) as ex:
        server = start_prometheus(ex.url.removeprefix("http://").removesuffix("/metrics"))
        counter = f'pytrace_calls_total{{job="pytrace",comm="{COMM}"}}'
        got = wait_for(lambda: server.value(counter) == 7
                       and server.value('pytrace_sizes_bucket{le="+Inf"}') == 5, timeout=60)
        assert got, f"counter: {server.query(counter)}; prometheus log:\n{server.log()}"
        assert server.value('up{job="pytrace"}') == 1
        assert server.value('pytrace_sizes_bucket{le="63.0"}') == 0
        assert server.value('pytrace_sizes_bucket{le="127.0"}') == 5
        assert len(server.query("pytrace_sizes_bucket")) == 66  # every log2 bucket and +Inf
        median = server.value("histogram_quantile(0.5, pytrace_sizes_bucket)")
        assert median is not None and 63 < median <= 127  # all 5 writes were 100 bytes
        for expr in dashboard_exprs():  # the shipped dashboard is valid PromQL
            promql = expr.replace("$__rate_interval", "1m").replace("$instance", ".*")
            status, body = server.get("/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
            assert status == 200 and json.loads(body)["status"] == "success", (promql, body)
