"""`pytrace.trace` and `Session`: a program running in the kernel, seen from Python.

A Session is the CLI's session (runtime/session.py: the same engine, loop, BEGIN/END
handling and teardown) with an output that turns records into Event objects, plus live
views of the maps. It attaches on `with` entry (or start()) and releases every fd on
exit (or close()), also when the block raises.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from pytrace.api.events import DEFAULT_MAX_EVENTS, Event, EventCollector, TraceWarning
from pytrace.api.maps import Maps
from pytrace.api.program import Program, compile
from pytrace.clitargets import split_words
from pytrace.runtime.session import POLL_SECONDS, Child, stop_on_signals
from pytrace.runtime.session import Session as Core

if TYPE_CHECKING:
    from pytrace.prometheus import Server

__all__ = ["Session", "trace"]


class Session:
    """One program's tracing session. Use it as a context manager (or start()/close()).

    maps: live views of the user maps. events(): the records, as Event objects.
    run(): run to the end. lost: records the kernel could not hand over.
    """

    def __init__(self, program: Program, *, pid: int | None = None,
                 cmd: Sequence[str] | None = None, output: TextIO | None = None,
                 max_events: int = DEFAULT_MAX_EVENTS) -> None:
        self.program = program
        self.pid = pid
        self.cmd = list(cmd) if cmd else None
        self._collector = EventCollector(output, max_events)
        self._core: Core | None = None
        self._maps: Maps | None = None
        self._servers: list[Server] = []
        self._closed = False

    # ------------------------------------------------------------ lifecycle
    def start(self) -> Session:
        """Load and attach the programs and run BEGIN. Raises TraceError (PrivilegeError,
        FeatureUnavailable, VerifierError...) with every fd already released."""
        if self._closed:
            raise RuntimeError("this session is closed: start a new one")
        if self._core is not None:
            return self
        from pytrace.runtime.features import check_privileges

        check_privileges()
        child = Child(self.cmd) if self.cmd else None
        core = Core(self.program.obj, self._collector, child, self.pid)
        try:
            core.start()
        except BaseException:
            core.close()
            raise
        self._core = core
        assert core.engine is not None
        self._maps = Maps(core.engine)
        return self

    def close(self) -> None:
        """Detach and release every fd (idempotent). The maps are gone afterwards."""
        self._closed = True
        for server in self._servers:  # no scrape may read a map once its fd is closed
            server.close()
        self._servers = []
        if self._core is not None:
            self._core.close()
        self._maps = None

    def __enter__(self) -> Session:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _running_core(self) -> Core:
        if self._core is None or self._closed:
            raise RuntimeError("the session is not started (use `with pytrace.trace(...)`)")
        return self._core

    # ------------------------------------------------------------ state
    @property
    def maps(self) -> Maps:
        """The user maps by name ('@opens', '@'), each a live MapView."""
        self._running_core()
        assert self._maps is not None
        return self._maps

    @property
    def lost(self) -> int:
        """Records the probes could not hand over (the ring buffer was full)."""
        return self._collector.lost_events

    @property
    def dropped(self) -> int:
        """Events not kept because more than max_events were waiting to be read."""
        return self._collector.dropped

    @property
    def attached(self) -> int:
        """How many probes are attached (as the CLI's 'Attached N probes')."""
        return self._collector.attached_probes

    @property
    def running(self) -> bool:
        """Whether the probes still run (no exit(), end of `cmd`, or stop() yet)."""
        core = self._core
        return core is not None and not self._closed and not core.stopping

    @property
    def exit_code(self) -> int | None:
        """The exit code once the program has finished (else None)."""
        core = self._core
        return core.stop.code if core is not None and core.finished else None

    @property
    def child_pid(self) -> int | None:
        """The pid of the `cmd` child (None without one)."""
        core = self._core
        return core.child.pid if core is not None and core.child is not None else None

    # ------------------------------------------------------------ running
    def wait(self, seconds: float) -> bool:
        """Let the program run for `seconds`, handling its records (events are queued
        for events()); returns early only when the program stops. Whether it still runs."""
        core = self._running_core()
        deadline = time.monotonic() + seconds
        while not core.stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            core.step(min(POLL_SECONDS, left))
        return not core.stopping

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """The records as Event objects, in order, as they come. Ends when the program
        stops (exit(), the end of `cmd`, stop(); END's records come first) or after
        `timeout` seconds (None: no limit; 0: only what is already there)."""
        core = self._running_core()
        queue = self._collector.queue
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            while queue:
                yield queue.popleft()
            if core.finished:
                return
            if core.stopping:
                core.finish()
                continue
            left = POLL_SECONDS if deadline is None else deadline - time.monotonic()
            core.step(max(0.0, min(POLL_SECONDS, left)))
            if left <= 0:
                while queue:
                    yield queue.popleft()
                return

    def stop(self) -> int:
        """Stop the probes, run END and collect its records; the exit code. The maps
        stay readable until close()."""
        return self._running_core().finish()

    def serve_prometheus(self, host: str = "127.0.0.1", port: int = 0, *,
                         max_keys: int | None = None) -> Server:
        """Serve every map as Prometheus metrics on http://HOST:PORT/metrics, read at
        scrape time (docs/prometheus.md), until the server's close() or the session's
        end. port 0 picks a free port (`.url` says which); at most `max_keys` keys per
        map (default 1000, 0: all). Notices go to warnings.warn (TraceWarning)."""
        import warnings

        from pytrace.prometheus import DEFAULT_MAX_KEYS, engine_source, serve

        core = self._running_core()

        def warn(msg: str) -> None:
            warnings.warn(msg, TraceWarning, stacklevel=2)

        server = serve(engine_source(core.engine), host, port,
                       max_keys=DEFAULT_MAX_KEYS if max_keys is None else max_keys, warn=warn)
        self._servers.append(server)
        return server

    def run(self, duration: float | None = None) -> int:
        """Run until exit(), `duration` seconds, the end of `cmd` or Ctrl-C (which stops
        the program instead of raising KeyboardInterrupt); then stop as stop() does.
        Returns the exit code. Events stay queued for events()."""
        core = self._running_core()
        with stop_on_signals(core, (signal.SIGINT,)):
            return core.run(duration)


def trace(source_or_program: str | Program, *, pid: int | None = None,
          cmd: str | Sequence[str] | None = None, params: Sequence[str] = (),
          unsafe: bool = False, output: TextIO | None = None,
          max_events: int = DEFAULT_MAX_EVENTS) -> Session:
    """A Session for a program (text, compiled here, or a Program from compile()).

    pid: trace this process only (`-p`); cmd: run this command (a string split at its
    spaces as `-c` splits it, or argv) and trace until it exits (`-c`; `cpid` is its pid); params: $1...;
    unsafe: allow system(), signal()...; output: a stream that also receives the text
    bpftrace would print; max_events: how many unread events are kept.
    Raises CompileError here; TraceError when the session starts.
    """
    argv = split_words(cmd) if isinstance(cmd, str) else (list(cmd) if cmd else None)
    if isinstance(source_or_program, Program):
        program = source_or_program.with_options(pid=pid, has_child=argv is not None)
    else:
        program = compile(source_or_program, params=params, pid=pid,
                          has_child=argv is not None, unsafe=unsafe)
    return Session(program, pid=pid, cmd=argv, output=output, max_events=max_events)
