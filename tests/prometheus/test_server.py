"""The /metrics endpoint on loopback with a fake source (no kernel): both exposition
formats, close() frees the port and every fd, and no map is read after close()."""

from __future__ import annotations

import gzip
import os
import urllib.request

import pytest
from fakes import counts

from pytrace.prometheus.collector import MapSource
from pytrace.prometheus.server import Server, serve
from pytrace.runtime.errors import RuntimeFailure


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def get(url: str, accept: str = "", encoding: str = "") -> tuple[str, bytes]:
    req = urllib.request.Request(url, headers={k: v for k, v in (("Accept", accept),
                                 ("Accept-Encoding", encoding)) if v})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.headers.get("Content-Type", ""), resp.read()


def test_scrape_text_and_openmetrics_then_close_frees_everything() -> None:
    reads: list[str] = []
    s, v = counts("@opens", {"bash": [2, 1]})

    def read(name: str) -> object:
        reads.append(name)
        return v

    before = fds()
    server = serve(MapSource(lambda: [s], read), "127.0.0.1", 0)  # type: ignore[arg-type]
    try:
        assert server.url == f"http://127.0.0.1:{server.port}/metrics"
        ctype, body = get(server.url)
        assert ctype.startswith("text/plain")
        assert b'pytrace_opens_total{comm="bash"} 3.0' in body
        assert b"process_cpu_seconds_total" in body  # pytrace's own cost
        ctype, body = get(server.url, accept="application/openmetrics-text; version=1.0.0")
        assert ctype.startswith("application/openmetrics-text") and body.endswith(b"# EOF\n")
        _, body = get(server.url, encoding="gzip")
        assert b"pytrace_opens_total" in gzip.decompress(body)
    finally:
        server.close()
    n = len(reads)
    server.close()  # idempotent
    assert fds() == before and n == 3
    again = serve(MapSource(lambda: [], read), "127.0.0.1", server.port)  # the port is free
    again.close()
    assert len(reads) == n


def test_a_taken_port_is_one_clear_error() -> None:
    first = serve(MapSource(lambda: [], lambda n: None), "127.0.0.1", 0)  # type: ignore[arg-type, return-value]
    try:
        with pytest.raises(RuntimeFailure, match=rf"cannot serve Prometheus metrics on "
                           rf"127.0.0.1:{first.port}: Address already in use"):
            serve(MapSource(lambda: [], lambda n: None), "127.0.0.1", first.port)  # type: ignore[arg-type, return-value]
    finally:
        first.close()


def test_ipv6_loopback() -> None:
    try:
        server: Server = serve(MapSource(lambda: [], lambda n: None), "::1", 0)  # type: ignore[arg-type, return-value]
    except RuntimeFailure as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    try:
        assert server.url.startswith("http://[::1]:")
        assert b"pytrace_exporter_map_keys" in get(server.url)[1]
    finally:
        server.close()
