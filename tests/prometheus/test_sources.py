"""The session adapters and the CLI's on_start/on_stop hooks, over fake sessions."""

from __future__ import annotations

import threading
import urllib.request
from dataclasses import dataclass, field

import pytest
from fakes import counts

from pytrace.prometheus.sources import CliExporter, engine_source, repl_source, session_source
from pytrace.resources import MapSpec
from pytrace.runtime.errors import RuntimeFailure
from pytrace.values import MapSnapshot

OPENS, OPENS_SNAP = counts("@opens", {"bash": [4]})


@dataclass
class FakeEngine:
    map_specs: dict[str, MapSpec] = field(default_factory=lambda: {"@opens": OPENS})
    lock: threading.RLock = field(default_factory=threading.RLock)
    closed: bool = False
    held: list[bool] = field(default_factory=list)

    def snapshot(self, name: str) -> MapSnapshot:
        assert not self.closed, "read after close"
        with self.lock:
            self.held.append(self.lock._is_owned())  # type: ignore[attr-defined]
            return OPENS_SNAP


@dataclass
class FakeSession:
    engine: FakeEngine | None = field(default_factory=FakeEngine)


def test_engine_sources_list_user_maps_and_read_them() -> None:
    session = FakeSession()
    for src in (engine_source(session.engine), session_source(session), repl_source(session)):
        assert [s.name for s in src.specs()] == ["@opens"]
        assert src.read("@opens") is OPENS_SNAP


def test_a_session_that_has_not_started_has_no_source() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        session_source(FakeSession(engine=None))


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
    assert b"process_cpu_seconds_total" in body and b"pytrace_" not in body
    exporter.on_start(session)
    assert exporter.server is not None and exporter.server.url == url
    assert lines == [f"Serving Prometheus metrics on {url}"]
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert b'pytrace_opens_total{comm="bash"} 4.0' in resp.read()
    exporter.on_stop(session)
    assert session.engine is not None
    session.engine.closed = True
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
