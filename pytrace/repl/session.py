"""The REPL's live tracing session: entries compiled, loaded and attached one at a time
against one set of shared maps, each entry with its own ring buffer.

Design (see docs/architecture.md, "REPL"): an entry is compiled together with the text
of every earlier successful entry, so map types unify exactly as in the saved script
and a conflicting use is an ordinary located diagnostic; only the new entry's programs
are loaded. Each entry is one program group of the runtime Engine (the same engine and
record dispatcher as the CLI): user maps are shared by name, the entry's internal maps
(`__ringbuf`, `__lost`, `__globals`, …) are private to it, and a failed entry closes
every program and map it created.

Nothing heavy is imported with this module: the engine, the output sinks and the
compiler are imported on first use (or by `warm()` in the background), so the REPL's
prompt appears before them.
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

if TYPE_CHECKING:
    from pytrace.api.maps import Maps
    from pytrace.diagnostics import Diagnostic
    from pytrace.output import TextOutput
    from pytrace.resources import BpfObject, MapSpec
    from pytrace.runtime.engine import Engine, Group
    from pytrace.source import Source
    from pytrace.values import MapSnapshot

Emit = Callable[[str], None]


class EntryError(Exception):
    """An entry that cannot be added; str(e) is the rendered diagnostic or error line."""


@dataclass
class Entry:
    """One successfully entered program: its text and its program group."""

    id: int
    text: str
    group: Group
    blocks: int = 0  # probe blocks in `text`
    pos: int = -1  # where its text is in the saved script (ReplSession.script)

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
    from pytrace.source import Span

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
    from pytrace.source import Source

    program, _ = parse(Source(name, text), require_probe=False)
    if program is None:
        return "unknown"
    if program.probes:
        return "probes"
    if program.macros or program.map_decls:
        return "definitions"
    return "head" if program.preamble else "unknown"


class RateLimiter:
    """At most `limit` lines shown per `window` seconds; counts the rest as dropped.

    A window ends only through tick(), which returns the note of the lines dropped in
    it: every caller emits that note, so no dropped line goes unreported (the poller
    ticks between ring buffer reads, a Screen before each write). Locked, so that a
    write from a thread other than the poller cannot corrupt the counts."""

    def __init__(self, limit: int = 50, window: float = 0.1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self.start = clock()
        self.shown = 0
        self.dropped = 0
        self._lock = threading.Lock()

    def admit(self) -> bool:
        """Whether the next line may be shown (in the current window)."""
        with self._lock:
            if self.shown < self.limit:
                self.shown += 1
                return True
            self.dropped += 1
            return False

    def tick(self) -> str | None:
        """At a window's end: a note of the lines dropped in it (else None)."""
        with self._lock:
            now = self.clock()
            if now - self.start < self.window:
                return None
            note = None
            if self.dropped:
                note = f"[{self.dropped} lines dropped from the display]\n"
            self.start, self.shown, self.dropped = now, 0, 0
            return note


class Screen(io.TextIOBase):
    """A text stream onto the REPL's screen: each write goes above the prompt, rate
    limited when `limiter` is given (the writes over the limit are counted and
    reported). `tty` is what isatty() answers (the real terminal's answer)."""

    def __init__(self, emit: Emit, limiter: RateLimiter | None = None,
                 tty: bool = False) -> None:
        self.emit, self.limiter, self.tty = emit, limiter, tty

    def write(self, text: str) -> int:
        if not text:
            return 0
        if self.limiter is None:
            self.emit(text)
            return len(text)
        note = self.limiter.tick()  # a window that ended: its drops are reported first
        if note:
            self.emit(note)
        if self.limiter.admit():
            self.emit(text)
        return len(text)

    def isatty(self) -> bool:
        return self.tty


def make_sink(out: TextIO, err: TextIO, colour: bool) -> TextOutput:
    """The output sink the REPL renders through: the CLI's RichOutput when colour is
    wanted (a terminal without NO_COLOR), else the bpftrace-exact TextOutput."""
    sink: TextOutput
    if colour:
        from pytrace.output.rich import RichOutput

        sink = RichOutput(out, err, quiet=True, force_terminal=True)
    else:
        from pytrace.output import TextOutput

        sink = TextOutput(out, err, quiet=True)
    sink.printf_joined = False  # one write per record: the screen's rate limit counts writes
    return sink


class ReplSession:
    """Everything live in one REPL: an Engine (shared maps, one group per entry), and the
    thread polling the entries' ring buffers."""

    def __init__(self, emit: Emit, options_params: Sequence[str] = (),
                 colour: bool = False, notice: Emit | None = None) -> None:
        self.emit = emit  # writes probe output above the prompt
        self.notice = notice or emit  # the session's own messages
        self.params = list(options_params)
        self.colour = colour
        self.entries: list[Entry] = []
        # the compile prefix, which only grows (an edited entry's old text stays in it):
        self.head: list[str] = []  # config, imports, C definitions: before every probe
        self.body: list[str] = []  # every other successful entry, in order
        self._script: list[str] = []  # the body as `.save` writes it (edits in place)
        self.blocks = 0  # probe blocks in the texts
        self._new_blocks = 0
        self._tags = 0
        self.limiter = RateLimiter()
        self._engine: Engine | None = None
        self._output: TextOutput | None = None
        self._init_lock = threading.Lock()
        self._stats_fd = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._signals = 0
        self._old_usr1: Any = None

    @property
    def texts(self) -> list[str]:
        """Every successful entry in the order a script needs them (the compile prefix)."""
        return self.head + self.body

    # ------------------------------------------------------------ lazy parts
    def _ensure(self) -> Engine:
        with self._init_lock:
            if self._engine is None:
                from pytrace.runtime.engine import Engine

                # probe output is rate limited; notices (lost events, warnings) always shown
                self._output = make_sink(cast(TextIO, Screen(self.emit, self.limiter)),
                                         cast(TextIO, Screen(self.notice)), self.colour)
                self._engine = Engine(self._output)
            return self._engine

    @property
    def engine(self) -> Engine:
        """The runtime Engine under every entry (created on first use)."""
        return self._engine if self._engine is not None else self._ensure()

    @property
    def output(self) -> TextOutput:
        """The sink the entries' records go to (rate limited, above the prompt)."""
        self._ensure()
        assert self._output is not None
        return self._output

    @property
    def lock(self) -> threading.RLock:
        return cast(threading.RLock, self.engine.lock)

    @property
    def map_specs(self) -> dict[str, MapSpec]:
        return self.engine.map_specs

    @property
    def maps(self) -> Maps:
        """The session's user maps as the Python API's live MapViews."""
        from pytrace.api.maps import Maps

        return Maps(self.engine)

    def warm(self) -> None:
        """Import and build what the first entry needs (engine, parser tables, passes,
        LLVM), so it need not wait; safe to run in a background thread."""
        self._ensure()
        from pytrace.driver import check_source  # noqa: F401 - imported for its side effect
        from pytrace.parser import get_parser

        get_parser()
        from pytrace.codegen import llvm  # noqa: F401

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
        if self._engine is None:
            return []
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
        if not self._signals or self._engine is None:
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
        if self._engine is not None:
            self._engine.close()
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
        from pytrace.diagnostics import CompileError
        from pytrace.driver import check_source, generate
        from pytrace.passes.context import Options
        from pytrace.source import Source

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
        from pytrace.diagnostics import render_all

        mine = [d for d in diags if d.span is not None and d.span.source is None
                and lines < d.span.line <= lines + own_lines]
        rest = [d for d in diags if d not in mine]
        return render_all(_shift(mine, lines), own) + (render_all(rest, combined) if rest else "")

    def _attach(self, eid: int, text: str, obj: BpfObject | None, skip: int) -> Entry:
        """Load a compiled entry, run its BEGIN blocks, attach it, record its text."""
        from pytrace.runtime.errors import RuntimeFailure

        if obj is None:
            raise EntryError("ERROR: this entry has no probe to attach\n")
        self._tags += 1
        reused = any(e.id == eid for e in self.entries)
        tag = f"e{eid}r{self._tags}" if reused else f"e{eid}"
        try:
            group = self.engine.add(obj, first_probe=skip, tag=tag, on_exit=self._exited,
                                    run_begin=True)
        except (RuntimeFailure, OSError) as exc:
            raise EntryError(f"ERROR: {exc}\n") from None
        entry = Entry(eid, text, group, self._new_blocks - self.blocks)
        self.body.append(text)
        self.blocks = self._new_blocks
        if self.engine.run_iterators(group, self.output.printf):  # an iteration runs once
            self.engine.retire(group)
        return entry

    def add(self, text: str, name: str = "stdin") -> tuple[Entry | None, str]:
        """Compile, load, attach and start one entry; (entry, warnings). An entry of
        only definitions (config, imports, macros, map declarations) is checked and
        kept for the entries after it: no entry then. EntryError on any problem, after
        undoing everything the entry created."""
        with self.lock:
            kind = entry_kind(text, name)
            if kind in ("head", "definitions"):
                _, _, warnings = self.compile(text, name, head=kind == "head")
                if kind == "head":
                    self.head.append(text)
                else:
                    self.body.append(text)
                    self._script.append(text)
                return None, warnings
            obj, skip, warnings = self.compile(text, name)
            eid = max((e.id for e in self.entries), default=0) + 1
            entry = self._attach(eid, text, obj, skip)
            entry.pos = len(self._script)
            self._script.append(text)
            self.entries.append(entry)
            return entry, warnings

    def replace(self, eid: int, text: str, name: str = "stdin") -> tuple[Entry, str]:
        """Replace entry `eid` by `text` (`.edit`): the new text is compiled after every
        earlier one (so it must agree with the maps' types, which are kept), the old
        probes detach and the new ones attach under the same id. A compile error changes
        nothing; if the new text cannot be attached the old one is attached again.
        KeyError for an unknown id."""
        with self.lock:
            i = next((n for n, e in enumerate(self.entries) if e.id == eid), None)
            if i is None:
                raise KeyError(eid)
            old = self.entries[i]
            if entry_kind(text, name) not in ("probes", "unknown"):
                raise EntryError("ERROR: an edited probe entry must keep a probe block "
                                 "(enter definitions as entries of their own)\n")
            obj, skip, warnings = self.compile(text, name)
            was_live = old.live
            if was_live:
                self.engine.retire(old.group)
            try:
                self.entries[i] = self._attach(eid, text, obj, skip)
            except EntryError as exc:
                restored = was_live and self._restore(i, old)
                state = "attached again" if restored else "detached"
                raise EntryError(f"{str(exc).rstrip()}\n(probe {eid} is {state} "
                                 "with its old text)\n") from None
            self.entries[i].pos = old.pos
            self._script[old.pos] = text
            return self.entries[i], warnings

    def _restore(self, i: int, old: Entry) -> bool:
        """Attach an entry's old text again after its replacement failed."""
        try:
            obj, skip, _ = self.compile(old.text)
            self.entries[i] = self._attach(old.id, old.text, obj, skip)
        except EntryError:
            return False
        self.entries[i].pos = old.pos
        return True

    def _exited(self, group: Group, code: int) -> None:
        """exit() in an entry detaches that entry only."""
        entry = next((e for e in self.entries if e.group is group), None)
        if entry is not None and entry.live:
            self.engine.retire(group)
            self.notice(f"probe {entry.id} called exit(): detached\n")

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

    def script(self) -> str:
        """The script `.save` writes: config/import entries first, then every other
        entry in order, an edited one with its current text."""
        return "".join(t.rstrip("\n") + "\n" for t in self.head + self._script)

    # ------------------------------------------------------------ maps
    def map_names(self) -> list[str]:
        return self.engine.map_names() if self._engine is not None else []

    def show_sent(self, entry: Entry) -> None:
        """Show what an entry's programs have sent so far (its BEGIN output) now rather
        than when the poller next looks, so output asked for after it follows it."""
        self.engine.drain(entry.group)

    def snapshot(self, name: str) -> MapSnapshot:
        """Read and decode a user map now; KeyError if the session has no such map."""
        return self.engine.snapshot(name)

    def clear(self, name: str) -> None:
        self.engine.clear(name)

    # ------------------------------------------------------------ ring buffers
    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            if self._engine is None:
                self._stop.wait(0.05)
                continue
            try:
                n = self._engine.drain_all(limit=4096)
            except Exception as exc:  # noqa: BLE001 - the poller must survive a bad record
                self.notice(f"ERROR: while reading probe output: {exc}\n")
                n = 0
            self._run_signal_probes()
            note = self.limiter.tick()
            if note:
                self.emit(note)
            if not n:
                self._stop.wait(0.05)
