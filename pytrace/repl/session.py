"""The REPL's live tracing session: entries compiled, loaded and attached one at a time
against one set of shared maps, each entry with its own ring buffer.

Design (see docs/architecture.md, "REPL"): an entry is compiled together with the text
of every earlier successful entry, so map types unify exactly as in the saved script
and a conflicting use is an ordinary located diagnostic; only the new entry's programs
are loaded. User maps are shared by name in one LoadedObject; the entry's internal maps
(`__ringbuf`, `__lost`, `__globals`, …) are renamed per entry so each entry gets its own
ring buffer, decoded with its own Resources (event ids never collide). A failed entry
closes every program and map it created.
"""

from __future__ import annotations

import dataclasses
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pytrace.diagnostics import CompileError, Diagnostic, render_all
from pytrace.resources import BpfObject, EventSpec, MapSpec, Resources
from pytrace.runtime import maps as bpfmaps
from pytrace.runtime.attach import Attachment, attach_all, detach_all, run_test
from pytrace.runtime.errors import RuntimeFailure
from pytrace.runtime.loader import LoadedObject, LoadedProgram
from pytrace.runtime.ringbuf import RingBuffer
from pytrace.runtime.symbols import STACKS_MAP, Symbolizer, session_symbolizer
from pytrace.source import Source, Span
from pytrace.values import MapSnapshot

Emit = Callable[[str], None]
EMPTY = BpfObject(b"", Resources())


class EntryError(Exception):
    """An entry that cannot be added; str(e) is the rendered diagnostic or error line."""


@dataclass
class Entry:
    """One successfully entered program: its probes, ring buffer and Resources."""

    id: int
    text: str
    resources: Resources
    programs: list[LoadedProgram]
    attachments: list[Attachment] = field(default_factory=list)
    ring: RingBuffer | None = None
    lost_seen: int = 0
    live: bool = True

    @property
    def attach_points(self) -> list[str]:
        return [p.spec.name for p in self.programs]

    def events(self) -> int:
        """How many times this entry's programs ran (0 without BPF stats)."""
        from pytrace.runtime.syscalls import prog_stats

        total = 0
        for p in self.programs:
            try:
                total += prog_stats(p.fd)[1]
            except OSError:
                pass
        return total


def _suffix_internal(res: Resources, tag: str) -> Resources:
    """Rename the internal maps (`__…`) so this entry's do not clash with others'."""
    def rename(name: str) -> str:
        shared = name == STACKS_MAP  # stack ids in shared user maps index one stack map
        return f"{name}.{tag}" if name.startswith("__") and not shared else name

    maps = tuple(dataclasses.replace(m, name=rename(m.name)) for m in res.maps)
    return dataclasses.replace(res, maps=maps, ringbuf_map=rename(res.ringbuf_map),
                               lost_map=rename(res.lost_map))


def _shift(diags: Sequence[Diagnostic], lines: int) -> list[Diagnostic]:
    out = []
    for d in diags:
        s = d.span
        if s is not None and s.line > lines:
            s = Span(s.line - lines, s.col, s.end_line - lines, s.end_col)
        out.append(dataclasses.replace(d, span=s))
    return out


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


class ReplSession:
    """Everything live in one REPL: shared maps, entries, and the ring-buffer poller."""

    def __init__(self, emit: Emit, options_params: Sequence[str] = ()) -> None:
        self.zeroed: set[str] = set()  # maps zero()ed since their last clear()
        self.emit = emit  # writes text above the prompt
        self.params = list(options_params)
        self.entries: list[Entry] = []
        self.texts: list[str] = []  # every successful entry, for .save and recompiles
        self.blocks = 0  # probe blocks in self.texts
        self._new_blocks = 0
        self.map_specs: dict[str, MapSpec] = {}
        self.resources = Resources()  # the newest combined Resources (probe names, maps)
        self.loaded = LoadedObject(EMPTY, load_probes=False)
        self.lock = threading.RLock()
        self.limiter = RateLimiter()
        self.start_ns = time.monotonic_ns()
        self.symbolizer: Symbolizer | None = None
        self._stats_fd = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Check privileges, enable run-time stats and start the poller thread."""
        from pytrace.runtime.features import check_privileges
        from pytrace.runtime.syscalls import enable_stats

        check_privileges()
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
                    for p in e.programs:
                        if p.spec.kind == "END":
                            run_test(p.fd)
            self._drain_all()
            self._detach_all()
            return [s for s in (self.snapshot(n) for n in sorted(self.map_specs)) if not s.empty]

    def close(self) -> None:
        """Stop the poller and release every fd (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        with self.lock:
            self._detach_all()
            for e in self.entries:
                if e.ring is not None:
                    e.ring.close()
                    e.ring = None
            self.loaded.close()
        if self._stats_fd >= 0:
            from pytrace.runtime.syscalls import close_fd

            close_fd(self._stats_fd)
            self._stats_fd = -1

    def _detach_all(self) -> None:
        detach_all([a for e in self.entries for a in e.attachments])
        for e in self.entries:
            e.attachments = []
            e.live = False

    # ------------------------------------------------------------ entries
    def compile(self, text: str, name: str = "stdin") -> tuple[BpfObject, int, str]:
        """Compile `text` after the earlier entries: (object, first new probe spec,
        warnings rendered). Raises EntryError with the rendered diagnostics."""
        from pytrace.driver import check_source, generate
        from pytrace.passes.context import Options

        prefix = "".join(t + "\n" for t in self.texts)
        lines = prefix.count("\n")
        combined = Source(name, prefix + text)
        own = Source(name, text)
        try:
            checked = check_source(combined, Options(params=self.params))
            _ir, obj = generate(checked)
        except CompileError as exc:
            raise EntryError(self._render(exc.diagnostics, lines, own, combined)) from None
        warnings = [d for d in checked.diagnostics if not d.is_error
                    and (d.span is None or d.span.line > lines)]
        skip = sum(len(cp.targets) for cp in checked.probes[:self.blocks])
        self._new_blocks = len(checked.probes)
        return obj, skip, self._render(warnings, lines, own, combined) if warnings else ""

    @staticmethod
    def _render(diags: Sequence[Diagnostic], lines: int, own: Source, combined: Source) -> str:
        mine = [d for d in diags if d.span is not None and d.span.line > lines]
        rest = [d for d in diags if d not in mine]
        return render_all(_shift(mine, lines), own) + (render_all(rest, combined) if rest else "")

    def add(self, text: str, name: str = "stdin") -> tuple[Entry, str]:
        """Compile, load, attach and start one entry; (entry, warnings). EntryError on
        any problem, after undoing everything the entry created."""
        with self.lock:
            obj, skip, warnings = self.compile(text, name)
            eid = (self.entries[-1].id + 1) if self.entries else 1
            res = _suffix_internal(obj.resources, f"e{eid}")
            self._check_shapes(res)
            probes = [p for p in res.probes if p.index >= skip]
            before_maps = set(self.loaded.map_names())
            entry = Entry(eid, text, res, [])
            try:
                entry.programs = self.loaded.load_programs(obj.elf, probes, res.maps)
                self._write_global(res, 0, self.start_ns)
                rb = res.map(res.ringbuf_map)
                entry.ring = RingBuffer(self.loaded.map_fd(rb.name), rb.max_entries)
                entry.attachments = attach_all(p for p in entry.programs
                                               if p.spec.kind not in ("BEGIN", "END"))
            except (RuntimeFailure, OSError) as exc:
                self._undo(entry, before_maps)
                raise EntryError(f"ERROR: {exc}\n") from None
            except BaseException:
                self._undo(entry, before_maps)
                raise
            self.entries.append(entry)
            self.texts.append(text)
            self.blocks = self._new_blocks
            self.resources = res
            if self.symbolizer is None and STACKS_MAP in self.loaded.map_names():
                self.symbolizer = session_symbolizer(res, self.loaded.map_fd)
            for m in res.maps:
                if m.is_user:
                    self.map_specs[m.name] = m
            for p in entry.programs:
                if p.spec.kind == "BEGIN":
                    run_test(p.fd)
            return entry, warnings

    def _check_shapes(self, res: Resources) -> None:
        for m in res.maps:
            old = self.map_specs.get(m.name)
            if old is not None and (old.kind, old.key_size, old.value_size) != (
                    m.kind, m.key_size, m.value_size):
                raise EntryError(f"ERROR: map {m.name} already exists with a different key or "
                                 "value size\n")

    def _undo(self, entry: Entry, before_maps: set[str]) -> None:
        detach_all(entry.attachments)
        entry.attachments = []
        if entry.ring is not None:
            entry.ring.close()
        self.loaded.unload(entry.programs)
        fds: dict[str, int] = self.loaded._map_fds  # noqa: SLF001 - loader has no removal API
        for name in set(fds) - before_maps:
            from pytrace.runtime.syscalls import close_fd

            close_fd(fds.pop(name))
            self.loaded.specs.pop(name, None)

    def _write_global(self, res: Resources, index: int, value: int) -> None:
        name = next((m.name for m in res.maps if m.name.startswith("__globals")), None)
        if name is not None:
            bpfmaps.update(self.loaded.map_fd(name), res.map(name), struct.pack("<I", index),
                           struct.pack("<Q", value))

    def entry(self, eid: int) -> Entry | None:
        return next((e for e in self.entries if e.id == eid), None)

    def detach(self, eid: int) -> Entry:
        """Detach one entry's probes (its maps keep their contents); KeyError if unknown."""
        with self.lock:
            e = self.entry(eid)
            if e is None or not e.live:
                raise KeyError(eid)
            detach_all(e.attachments)
            e.attachments = []
            e.live = False
            self._drain(e)
            return e

    # ------------------------------------------------------------ maps
    def map_names(self) -> list[str]:
        return sorted(self.map_specs)

    def snapshot(self, name: str) -> MapSnapshot:
        """Read and decode a user map now; KeyError if the session has no such map."""
        from pytrace.runtime.decode import snapshot

        spec = self.map_specs[name]
        raw = bpfmaps.read_all(self.loaded.map_fd(name), spec)
        return snapshot(spec, raw, self.resources.probe_names, self.symbolizer, name in self.zeroed)

    def clear(self, name: str) -> None:
        self.zeroed.discard(name)
        spec = self.map_specs[name]
        bpfmaps.clear(self.loaded.map_fd(name), spec)

    # ------------------------------------------------------------ ring buffers
    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            try:
                with self.lock:
                    n = self._drain_all()
            except Exception as exc:  # noqa: BLE001 - the poller must survive a bad record
                self.emit(f"ERROR: while reading probe output: {exc}\n")
                n = 0
            note = self.limiter.tick()
            if note:
                self.emit(note)
            if not n:
                self._stop.wait(0.05)

    def _drain_all(self) -> int:
        return sum(self._drain(e) for e in self.entries)

    def _drain(self, e: Entry) -> int:
        if e.ring is None:
            return 0
        records = e.ring.drain(limit=4096)
        for raw in records:
            self._handle(e, memoryview(raw))
        lost = bpfmaps.read_lost(self.loaded.map_fd(e.resources.lost_map))
        if lost > e.lost_seen:
            self.emit(f"Lost {lost - e.lost_seen} events\n")
            e.lost_seen = lost
        return len(records)

    def _handle(self, e: Entry, rec: memoryview) -> None:
        from pytrace.runtime.decode import decode_value

        if len(rec) < 8:
            return
        eid = int.from_bytes(rec[:8], "little")
        if eid >= len(e.resources.events):
            return
        ev: EventSpec = e.resources.events[eid]
        names = e.resources.probe_names
        args = [decode_value(f.type, rec, f.offset, names, self.symbolizer) for f in ev.args]
        if ev.kind == "printf":
            from pytrace.printf_format import format_printf

            self._show(format_printf(ev.fmt, args))
        elif ev.kind == "print_value":
            from pytrace.output.text import format_value

            self._show(format_value(args[0]) + "\n")
        elif ev.kind == "print_map" and ev.map_name in self.map_specs:
            from pytrace.output.text import format_map

            top = int(args[0]) if args else 0  # type: ignore[call-overload]
            div = int(args[1]) if len(args) > 1 else 1  # type: ignore[call-overload]
            self._show(format_map(self.snapshot(ev.map_name), top, div or 1))
        elif ev.kind in ("clear", "zero") and ev.map_name in self.map_specs:
            spec = self.map_specs[ev.map_name]
            fn = bpfmaps.clear if ev.kind == "clear" else bpfmaps.zero
            fn(self.loaded.map_fd(ev.map_name), spec)
            (self.zeroed.add if ev.kind == "zero" else self.zeroed.discard)(ev.map_name)
        elif ev.kind == "time":
            self._show(time.strftime(ev.fmt))
        elif ev.kind == "exit" and e.live:
            detach_all(e.attachments)
            e.attachments = []
            e.live = False
            self.emit(f"probe {e.id} called exit(): detached\n")

    def _show(self, text: str) -> None:
        if self.limiter.admit():
            self.emit(text)
