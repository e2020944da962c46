"""The session adapters and the CLI's on_start/on_stop hooks, over fake sessions."""

from __future__ import annotations

import threading
import urllib.request
from dataclasses import dataclass, field

import pytest
from fakes import counts

from pytrace.prometheus.sources import CliExporter, repl_source, session_source
from pytrace.resources import MapKind, MapSpec, Resources
from pytrace.runtime.errors import RuntimeFailure
from pytrace.values import MapSnapshot

OPENS, OPENS_SNAP = counts("@opens", {"bash": [4]})
RINGBUF = MapSpec("__ringbuf", "r", MapKind.RINGBUF, 0, 0, 4096)


@dataclass
class FakeSession:
    resources: Resources = field(default_factory=lambda: Resources(maps=(OPENS, RINGBUF)))
    closed: bool = False

    def _snapshot(self, name: str) -> MapSnapshot:
        assert not self.closed, "read after close"
        return OPENS_SNAP


@dataclass
class FakeRepl:
    map_specs: dict[str, MapSpec] = field(default_factory=lambda: {"@opens": OPENS})
    lock: threading.RLock = field(default_factory=threading.RLock)
    held: list[bool] = field(default_factory=list)

    def snapshot(self, name: str) -> MapSnapshot:
        self.held.append(self.lock._is_owned())  # type: ignore[attr-defined]
        return OPENS_SNAP


def test_session_source_lists_user_maps_and_reads_them() -> None:
    src = session_source(FakeSession())
    assert [s.name for s in src.specs()] == ["@opens"]
    assert src.read("@opens") is OPENS_SNAP


def test_repl_source_reads_under_the_session_lock() -> None:
    repl = FakeRepl()
    src = repl_source(repl)
    assert [s.name for s in src.specs()] == ["@opens"]
    assert src.read("@opens") is OPENS_SNAP and repl.held == [True]


def test_cli_exporter_binds_first_then_serves_between_start_and_stop() -> None:
    lines: list[str] = []
    session = FakeSession()
    exporter = CliExporter("127.0.0.1", 0, announce=lines.append)
    exporter.on_stop(session)  # before anything (start failed): nothing to stop
    exporter.bind()
    assert exporter.server is not None and lines == []
    url = exporter.server.url
    with urllib.request.urlopen(url, timeout=10) as resp:  # bound, no maps yet
        body = resp.read()
    assert b"pytrace_exporter_map_keys" in body and b"pytrace_opens" not in body
    exporter.on_start(session)
    assert exporter.server is not None and exporter.server.url == url
    assert lines == [f"Serving Prometheus metrics on {url}"]
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert b'pytrace_opens_total{comm="bash"} 4.0' in resp.read()
    exporter.on_stop(session)
    session.closed = True
    assert exporter.server is None


def test_cli_exporter_on_a_taken_port_fails_before_the_session_starts() -> None:
    first = CliExporter("127.0.0.1", 0)
    first.bind()
    assert first.server is not None
    try:
        with pytest.raises(RuntimeFailure, match="Address already in use"):
            CliExporter("127.0.0.1", first.server.port).bind()
    finally:
        first.on_stop()
