"""The REPL's live tracing session: entries compiled, loaded and attached one at a time
against one set of shared maps, each entry with its own ring buffer.

Design (see docs/architecture.md, "REPL"): an entry is compiled together with the text
of every earlier successful entry, so map types unify exactly as in the saved script
and a conflicting use is an ordinary located diagnostic; only the new entry's programs
are loaded. Each entry is one program group of the runtime Engine (the same engine and
record dispatcher as the CLI): user maps are shared by name, the entry's internal maps
(`__ringbuf`, `__lost`, `__globals`, …) are private to it, and a failed entry closes
every program and map it created.
"""

from __future__ import annotations

import dataclasses
import io
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO, cast

from pytrace.diagnostics import CompileError, Diagnostic, render_all
from pytrace.output import TextOutput
from pytrace.resources import BpfObject, MapSpec
from pytrace.runtime.engine import Engine, Group
from pytrace.runtime.engine import private_maps as _suffix_internal  # noqa: F401 (tests)
from pytrace.runtime.errors import RuntimeFailure
from pytrace.source import Source, Span
from pytrace.values import MapSnapshot

if TYPE_CHECKING:
    from pytrace.api.maps import Maps

Emit = Callable[[str], None]


class EntryError(Exception):
    """An entry that cannot be added; str(e) is the rendered diagnostic or error line."""


@dataclass
class Entry:
    """One successfully entered program: its text and its program group."""

    id: int
    text: str
    group: Group

    @property
    def live(self) -> bool:
        return self.group.live

    @property
    def attach_points(self) -> list[str]:
        return [p.spec.name for p in self.group.programs]

    def events(self) -> int:
        """How many times this entry's programs ran (0 without BPF stats)."""
        return self.group.runs()


def _shift(diags: Sequence[Diagnostic], lines: int) -> list[Diagnostic]:
    out = []
    for d in diags:
        s = d.span
        if s is not None and s.line > lines:
            s = Span(s.line - lines, s.col, s.end_line - lines, s.end_col, s.source)
        out.append(dataclasses.replace(d, span=s))
    return out


# Each entry's own ring buffer (4 MiB unless perf_rb_pages is configured): the screen
# shows at most 50 lines per 100 ms, so a burst-sized buffer per entry would buy nothing.
REPL_RB_PAGES = 1024


def entry_kind(text: str, name: str = "stdin") -> str:
    """'head' (only config, imports and C definitions: they go before every probe),
    'definitions' (macros and map declarations too, but no probe), 'probes', or
    'unknown' (it does not parse: compiling it reports why)."""
    from pytrace.parser import parse

    program, _ = parse(Source(name, text), require_probe=False)
    if program is None:
        return "unknown"
    if program.probes:
        return "probes"
    if program.macros or program.map_decls:
        return "definitions"
    return "head" if program.preamble else "unknown"


class RateLimiter:
    """At most `limit` lines shown per `window` seconds; counts the rest as dropped."""

    def __init__(self, limit: int = 50, window: float = 0.1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self.start = clock()
        self.shown = 0
        self.dropped = 0

    def admit(self) -> bool:
        """Whether the next line may be shown."""
        self.tick()
        if self.shown < self.limit:
            self.shown += 1
            return True
        self.dropped += 1
        return False

    def tick(self) -> str | None:
        """At a window's end: a note of the lines dropped in it (else None)."""
        now = self.clock()
        if now - self.start < self.window:
            return None
        note = None
        if self.dropped:
            note = f"[{self.dropped} lines dropped from the display]\n"
        self.start, self.shown, self.dropped = now, 0, 0
        return note


class _Screen(io.TextIOBase):
    """A text stream onto the REPL's screen: each write goes above the prompt, rate
    limited (the lines over the limit are counted and reported)."""

    def __init__(self, emit: Emit, limiter: RateLimiter, limited: bool) -> None:
        self.emit, self.limiter, self.limited = emit, limiter, limited

    def write(self, text: str) -> int:
        if not self.limited:
            if text:
                self.emit(text)
            return len(text)
        for line in text.splitlines(keepends=True):  # a write may carry many records' lines
            if self.limiter.admit():
                self.emit(line)
        return len(text)


class ReplSession:
    """Everything live in one REPL: an Engine (shared maps, one group per entry), and the
    thread polling the entries' ring buffers."""

    def __init__(self, emit: Emit, options_params: Sequence[str] = ()) -> None:
        self.emit = emit  # writes text above the prompt
        self.params = list(options_params)
        self.entries: list[Entry] = []
        self.head: list[str] = []  # config, imports, C definitions: before every probe
        self.body: list[str] = []  # every other successful entry, in order
        self.blocks = 0  # probe blocks in the texts
        self._new_blocks = 0
        self.limiter = RateLimiter()
        # probe output is rate limited; notices (lost events, warnings) always shown
        self.output = TextOutput(cast(TextIO, _Screen(emit, self.limiter, True)),
                                 cast(TextIO, _Screen(emit, self.limiter, False)), quiet=True)
        self.engine = Engine(self.output)
        self.lock = self.engine.lock
        self._stats_fd = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._signals = 0
        self._old_usr1: Any = None

    @property
    def map_specs(self) -> dict[str, MapSpec]:
        return self.engine.map_specs

    @property
    def texts(self) -> list[str]:
        """Every successful entry in the order a script needs them (for .save)."""
        return self.head + self.body

    @property
    def maps(self) -> Maps:
        """The session's user maps as the Python API's live MapViews."""
        from pytrace.api.maps import Maps

        return Maps(self.engine)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Check privileges, enable run-time stats and start the poller thread."""
        from pytrace.runtime.features import check_privileges
        from pytrace.runtime.syscalls import enable_stats

        check_privileges()
        self._watch_signals()
        try:
            self._stats_fd = enable_stats()
        except OSError:
            self._stats_fd = -1
        self._thread = threading.Thread(target=self._poll_loop, name="pytrace-repl-poll",
                                        daemon=True)
        self._thread.start()

    def finish(self) -> list[MapSnapshot]:
        """Run END blocks, drain, detach everything; the non-empty maps to print."""
        with self.lock:
            for e in self.entries:
                if e.live:
                    self.engine.run(e.group, "END")
            self.engine.drain_all()
            for e in self.entries:
                if e.live:
                    self.engine.detach(e.group)
            return self.engine.snapshots()

    def _watch_signals(self) -> None:
        """SIGUSR1 runs the live entries' self:signal:SIGUSR1 probes (from the poller)."""
        if threading.current_thread() is not threading.main_thread():
            return
        self._old_usr1 = signal.getsignal(signal.SIGUSR1)
        signal.signal(signal.SIGUSR1, self._on_signal)

    def _on_signal(self, signum: int, frame: object) -> None:
        self._signals += 1

    def _run_signal_probes(self) -> None:
        if not self._signals:
            return
        self._signals = 0
        with self.lock:
            for e in self.entries:
                if e.live:
                    self.engine.run(e.group, "self")

    def close(self) -> None:
        """Stop the poller and release every fd (idempotent)."""
        if self._old_usr1 is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGUSR1, self._old_usr1)
            self._old_usr1 = None
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        self.engine.close()
        if self._stats_fd >= 0:
            from pytrace.runtime.syscalls import close_fd

            close_fd(self._stats_fd)
            self._stats_fd = -1

    # ------------------------------------------------------------ entries
    def compile(self, text: str, name: str = "stdin",
                head: bool = False) -> tuple[BpfObject | None, int, str]:
        """Compile `text` with the earlier entries (after the other config/import
        entries when `head`, else after every entry): (object, first new probe spec,
        warnings rendered); no object when the entries have no probe yet. Raises
        EntryError with the rendered diagnostics."""
        from pytrace.driver import check_source, generate
        from pytrace.passes.context import Options

        before = self.head if head else self.head + self.body
        after = self.body if head else []
        prefix = "".join(t + "\n" for t in before)
        lines, own_lines = prefix.count("\n"), text.count("\n") + 1
        combined = Source(name, prefix + text + "".join("\n" + t for t in after))
        own = Source(name, text)
        probes = bool(self.entries) or entry_kind(text, name) == "probes"
        try:
            checked = check_source(combined, Options(params=self.params,
                                                     perf_rb_pages=REPL_RB_PAGES),
                                   require_probe=probes)
            obj = generate(checked)[1] if probes else None
        except CompileError as exc:
            raise EntryError(self._render(exc.diagnostics, lines, own_lines, own,
                                          combined)) from None
        warnings = [d for d in checked.diagnostics if not d.is_error
                    and (d.span is None or lines < d.span.line <= lines + own_lines)]
        skip = sum(len(cp.live) for cp in checked.probes[:self.blocks])
        self._new_blocks = len(checked.probes)
        shown = self._render(warnings, lines, own_lines, own, combined) if warnings else ""
        return obj, skip, shown

    @staticmethod
    def _render(diags: Sequence[Diagnostic], lines: int, own_lines: int, own: Source,
                combined: Source) -> str:
        mine = [d for d in diags if d.span is not None and d.span.source is None
                and lines < d.span.line <= lines + own_lines]
        rest = [d for d in diags if d not in mine]
        return render_all(_shift(mine, lines), own) + (render_all(rest, combined) if rest else "")

    def add(self, text: str, name: str = "stdin") -> tuple[Entry | None, str]:
        """Compile, load, attach and start one entry; (entry, warnings). An entry of
        only definitions (config, imports, macros, map declarations) is checked and
        kept for the entries after it: no entry then. EntryError on any problem, after
        undoing everything the entry created."""
        with self.lock:
            kind = entry_kind(text, name)
            if kind in ("head", "definitions"):
                obj, _, warnings = self.compile(text, name, head=kind == "head")
                (self.head if kind == "head" else self.body).append(text)
                return None, warnings
            obj, skip, warnings = self.compile(text, name)
            assert obj is not None
            eid = (self.entries[-1].id + 1) if self.entries else 1
            try:
                group = self.engine.add(obj, first_probe=skip, tag=f"e{eid}",
                                        on_exit=self._exited)
            except (RuntimeFailure, OSError) as exc:
                raise EntryError(f"ERROR: {exc}\n") from None
            entry = Entry(eid, text, group)
            self.entries.append(entry)
            self.body.append(text)
            self.blocks = self._new_blocks
            self.engine.run(group, "BEGIN")
            return entry, warnings

    def _exited(self, group: Group, code: int) -> None:
        """exit() in an entry detaches that entry only."""
        entry = next((e for e in self.entries if e.group is group), None)
        if entry is not None and entry.live:
            self.engine.retire(group)
            self.emit(f"probe {entry.id} called exit(): detached\n")

    def entry(self, eid: int) -> Entry | None:
        return next((e for e in self.entries if e.id == eid), None)

    def detach(self, eid: int) -> Entry:
        """Detach one entry's probes (its maps keep their contents); KeyError if unknown."""
        with self.lock:
            e = self.entry(eid)
            if e is None or not e.live:
                raise KeyError(eid)
            self.engine.retire(e.group)
            return e

    # ------------------------------------------------------------ maps
    def map_names(self) -> list[str]:
        return self.engine.map_names()

    def snapshot(self, name: str) -> MapSnapshot:
        """Read and decode a user map now; KeyError if the session has no such map."""
        return self.engine.snapshot(name)

    def clear(self, name: str) -> None:
        self.engine.clear(name)

    # ------------------------------------------------------------ ring buffers
    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            try:
                n = self.engine.drain_all(limit=4096)
            except Exception as exc:  # noqa: BLE001 - the poller must survive a bad record
                self.emit(f"ERROR: while reading probe output: {exc}\n")
                n = 0
            self._run_signal_probes()
            note = self.limiter.tick()
            if note:
                self.emit(note)
            if not n:
                self._stop.wait(0.05)
