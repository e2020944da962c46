"""MapSource adapters for the sessions that own maps, and the CLI's session hooks.

- `session_source(session)`: the CLI's runtime Session (its Resources list the maps).
- `repl_source(repl)`: the REPL's ReplSession (maps appear as entries are added; reads
  take the session's lock, which also guards adding and undoing entries).
- `CliExporter`: `bind()` takes the port before tracing starts; `on_start`/`on_stop`
  callbacks for `run_session` serve the maps once the session has started and stop
  serving before it closes its fds.

Only public-ish session methods are used (`resources`, `_snapshot`, `map_specs`,
`snapshot`, `lock`); the engine refactor keeps them or adapts these few lines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pytrace.prometheus.collector import DEFAULT_MAX_KEYS, MapSource, Warn, stderr_warning
from pytrace.prometheus.server import Server, serve

__all__ = ["CliExporter", "repl_source", "session_source"]


def session_source(session: Any) -> MapSource:
    """The maps of a runtime.session.Session (after start())."""
    return MapSource(specs=lambda: [m for m in session.resources.maps if m.is_user],
                     read=session._snapshot)  # noqa: SLF001 - the session's one map reader


def repl_source(repl: Any) -> MapSource:
    """The maps of a repl.session.ReplSession."""
    def read(name: str) -> Any:
        with repl.lock:
            return repl.snapshot(name)

    def specs() -> list[Any]:
        with repl.lock:
            return list(repl.map_specs.values())

    return MapSource(specs=specs, read=read)


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
