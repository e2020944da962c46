"""MapSource adapters for the sessions that own maps, and the CLI's session hooks.

- `engine_source(engine)`: a runtime Engine (pytrace/runtime/engine.py): its user maps
  (`map_specs`) and `snapshot(name)`, both under the engine's lock, which also guards
  adding, undoing and closing program groups.
- `session_source(session)`: the CLI's runtime Session (its engine, once started).
- `repl_source(repl)`: the REPL's ReplSession (its engine; maps appear as entries are added).
- `CliExporter`: `bind()` takes the port before tracing starts; `on_start`/`on_stop`
  callbacks for `run_session` serve the maps once the session has started and stop
  serving before it closes its fds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pytrace.prometheus.collector import DEFAULT_MAX_KEYS, MapSource, Warn, stderr_warning
from pytrace.prometheus.server import Server, serve
from pytrace.resources import MapSpec
from pytrace.values import MapSnapshot

__all__ = ["CliExporter", "engine_source", "repl_source", "session_source"]


def engine_source(engine: Any) -> MapSource:
    """The user maps of a runtime Engine."""
    def specs() -> list[MapSpec]:
        with engine.lock:
            return list(engine.map_specs.values())

    def read(name: str) -> MapSnapshot:
        snap: MapSnapshot = engine.snapshot(name)  # takes the engine's lock
        return snap

    return MapSource(specs=specs, read=read)


def session_source(session: Any) -> MapSource:
    """The maps of a runtime.session.Session (after start())."""
    if session.engine is None:
        raise RuntimeError("the session has not started")
    return engine_source(session.engine)


def repl_source(repl: Any) -> MapSource:
    """The maps of a repl.session.ReplSession."""
    return engine_source(repl.engine)


class CliExporter:
    """Serves a CLI session's maps while it runs (`pytrace --prometheus [HOST:]PORT`)."""

    def __init__(self, host: str, port: int, max_keys: int = DEFAULT_MAX_KEYS,
                 warn: Warn = stderr_warning, announce: Callable[[str], None] | None = None) -> None:
        self.host, self.port, self.max_keys = host, port, max_keys
        self.warn = warn
        self.announce = announce
        self.server: Server | None = None

    def bind(self) -> None:
        """Take the port before tracing starts (RuntimeFailure when it is taken)."""
        if self.server is None:
            self.server = serve(None, self.host, self.port, max_keys=self.max_keys,
                                warn=self.warn)

    def on_start(self, session: Any) -> None:
        """Once the session has started (its maps exist): serve them."""
        self.bind()
        assert self.server is not None
        self.server.attach(session_source(session))
        if self.announce is not None:
            self.announce(f"Serving Prometheus metrics on {self.server.url}")

    def on_stop(self, session: Any = None) -> None:
        """Before the session closes its fds: stop serving (waits for a scrape in progress)."""
        if self.server is not None:
            self.server.close()
            self.server = None
