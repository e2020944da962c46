"""The tracing session loop: load, run BEGIN, attach, poll the ring buffer, stop,
run END, print maps, and release every fd on any exit.

Works from a BpfObject (ELF + Resources) only; never sees the AST.
"""

from __future__ import annotations

import signal
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from pytrace.output.guard import guard_output, session_stopping
from pytrace.resources import BpfObject, EventSpec, Resources
from pytrace.runtime import maps as bpfmaps
from pytrace.runtime.attach import (
    Attachment,
    attach_all,
    detach_all,
    release_in_background,
    run_test,
    stop_all,
)
from pytrace.runtime.child import Child, PidWatch
from pytrace.runtime.decode import decode_value, snapshot
from pytrace.runtime.errors import RuntimeFailure
from pytrace.runtime.features import check_privileges, check_probe_kind
from pytrace.runtime.loader import LoadedObject, LoadedProgram
from pytrace.runtime.ringbuf import RingBuffer
from pytrace.runtime.symbols import Symbolizer, session_symbolizer

GLOBAL_START_NS = 0
GLOBAL_CPID = 1


@dataclass(slots=True)
class _Stop:
    requested: bool = False
    code: int = 0
    signals: int = 0  # SIGINT/SIGTERM received; a second one hurries the exit


@dataclass
class Session:
    """Runs one compiled object. `output` implements pytrace.output.Output."""

    obj: BpfObject
    output: Any
    child: Child | None = None
    watch: PidWatch | None = None  # -p PID: stop when it exits
    loaded: LoadedObject | None = None
    ring: RingBuffer | None = None
    attachments: list[Attachment] = field(default_factory=list)
    stop: _Stop = field(default_factory=_Stop)
    _decoders: dict[int, Callable[[memoryview], list[object]]] = field(default_factory=dict)
    symbolizer: Symbolizer | None = None
    _lost_seen: int = 0
    _full_warned: set[str] = field(default_factory=set)
    _zeroed: set[str] = field(default_factory=set)  # maps zero()ed since their last clear()
    _full_checked: float = 0.0

    @property
    def resources(self) -> Resources:
        return self.obj.resources

    # ------------------------------------------------------------ setup
    def start(self) -> None:
        """Load everything, run BEGIN, attach; raises RuntimeFailure on any problem."""
        check_privileges()
        for kind in sorted({p.kind for p in self.resources.probes}):
            check_probe_kind(kind)
        self.loaded = LoadedObject(self.obj)
        self._write_global(GLOBAL_START_NS, time.monotonic_ns())
        if self.child is not None:
            self._write_global(GLOBAL_CPID, self.child.pid)
        rb_spec = self.resources.map(self.resources.ringbuf_map)
        self.ring = RingBuffer(self.loaded.map_fd(rb_spec.name), rb_spec.max_entries)
        self.symbolizer = session_symbolizer(self.resources, self.loaded.map_fd)
        self.symbolizer.give_up = lambda: self.stop.signals >= 2
        progs = [p for p in self.loaded.programs if p.spec.kind not in ("BEGIN", "END")]
        self.attachments = attach_all(progs, self.child.pid if self.child is not None else None)
        self.output.attached(sum(p.covers for p in self.resources.probes))
        for p in self._programs("BEGIN"):
            run_test(p.fd)
        if self.child is not None:
            self.child.release()

    def _programs(self, kind: str) -> list[LoadedProgram]:
        assert self.loaded is not None
        return [p for p in self.loaded.programs if p.spec.kind == kind]

    def _write_global(self, index: int, value: int) -> None:
        assert self.loaded is not None
        spec = self.resources.map("__globals")
        bpfmaps.update(self.loaded.map_fd("__globals"), spec, struct.pack("<I", index), struct.pack("<Q", value))

    # ------------------------------------------------------------ loop
    def _has_live_probes(self) -> bool:
        return any(p.kind not in ("BEGIN", "END") for p in self.resources.probes)

    def run(self) -> int:
        """Poll until exit(), a signal, or the child's exit; then finish. Returns the exit code."""
        assert self.ring is not None
        self._handle(self.ring.drain())
        if not self._has_live_probes() and self.child is None:
            self.stop.requested = True
        while not self.stop.requested:
            self._handle(self.ring.poll(200))
            self._report_lost()
            self._check_full()
            if (self.child is not None and self.child.exited()) or (
                    self.watch is not None and self.watch.exited()):
                self._handle(self.ring.drain())
                break
        return self.finish()

    def request_stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        self.stop.requested = True
        self.stop.signals += 1 if signum else 0

    def finish(self) -> int:
        """Stop every probe, run END, drain, print the maps at exit."""
        stop_all(self.attachments)  # programs stop now; close() releases the perf events
        if self.loaded is not None and self.ring is not None:
            for p in self._programs("END"):
                run_test(p.fd)
            self._handle(self.ring.drain())
            self._report_lost()
            self._check_full(force=True)
            self.output.maps_at_exit(self._snapshots())
            self.output.flush()
        return self.stop.code

    def close(self, in_background: bool = False) -> None:
        """Release every fd. in_background (for a process about to exit): the perf events,
        whose release costs the kernel one RCU grace period each, are released by a
        short-lived forked process, so the user does not wait for them."""
        stop_all(self.attachments)
        if in_background:
            release_in_background(self.attachments)
        detach_all(self.attachments)
        self.attachments = []
        if self.ring is not None:
            self.ring.close()
            self.ring = None
        if self.loaded is not None:
            self.loaded.close()
            self.loaded = None
        if self.child is not None:
            self.child.kill()
        if self.watch is not None:
            self.watch.close()

    # ------------------------------------------------------------ records
    def _decoder(self, ev: EventSpec) -> Callable[[memoryview], list[object]]:
        dec = self._decoders.get(ev.id)
        if dec is None:
            names = self.resources.probe_names
            fields = ev.args

            def dec(rec: memoryview) -> list[object]:
                return [decode_value(f.type, rec, f.offset, names, self.symbolizer) for f in fields]

            self._decoders[ev.id] = dec
        return dec

    def _handle(self, records: Sequence[bytes | memoryview]) -> None:
        from pytrace.printf_format import format_printf  # once per batch, not per record

        events = self.resources.events
        out = self.output
        for raw in records:
            rec = memoryview(raw)
            if len(rec) < 8:
                continue
            eid = int.from_bytes(rec[:8], "little")
            if eid >= len(events):
                continue
            ev = events[eid]
            kind = ev.kind
            if kind == "printf":
                out.printf(format_printf(ev.fmt, self._decoder(ev)(rec)))
            elif kind == "print_value":
                out.value(self._decoder(ev)(rec)[0], ev.args[0].type)
            elif kind == "print_map":
                vals = self._decoder(ev)(rec)
                top = int(vals[0]) if vals else 0  # type: ignore[call-overload]
                div = int(vals[1]) if len(vals) > 1 else 1  # type: ignore[call-overload]
                snap = self._snapshot(ev.map_name)
                if snap is not None:
                    out.map(snap, top, div or 1)
            elif kind in ("clear", "zero"):
                self._map_op(kind, ev.map_name)
            elif kind == "time":
                out.time(time.strftime(ev.fmt))
            elif kind == "exit":
                if not self.stop.requested:
                    code = self._decoder(ev)(rec)[0]
                    self.stop.code = int(code) & 0xFF  # type: ignore[call-overload]
                self.stop.requested = True

    def _map_op(self, kind: str, name: str) -> None:
        assert self.loaded is not None
        if kind == "zero":
            self._zeroed.add(name)
        else:
            self._zeroed.discard(name)
        spec = self.resources.map(name)
        fd = self.loaded.map_fd(name)
        (bpfmaps.clear if kind == "clear" else bpfmaps.zero)(fd, spec)

    def _snapshot(self, name: str):  # type: ignore[no-untyped-def]
        assert self.loaded is not None
        spec = self.resources.map(name)
        raw = bpfmaps.read_all(self.loaded.map_fd(name), spec)
        return snapshot(spec, raw, self.resources.probe_names, self.symbolizer, name in self._zeroed)

    def _snapshots(self) -> list[Any]:
        out = []
        for spec in sorted((m for m in self.resources.maps if m.is_user), key=lambda m: m.name):
            snap = self._snapshot(spec.name)
            if not snap.empty:
                out.append(snap)
        return out

    def _check_full(self, force: bool = False) -> None:
        """Warn once per map that holds its maximum number of keys (at most once a second).

        A full hash keeps updating existing keys in place; only new keys are dropped.
        """
        now = time.monotonic()
        if self.loaded is None or (not force and now - self._full_checked < 1.0):
            return
        self._full_checked = now
        for spec in self.resources.maps:
            if not spec.is_user or spec.name in self._full_warned:
                continue
            if len(bpfmaps.keys(self.loaded.map_fd(spec.name), spec)) >= spec.max_entries:
                self._full_warned.add(spec.name)
                self.output.warning(
                    f"Map {spec.name} is full ({spec.max_entries} keys): updates of existing "
                    "keys continue, new keys are dropped"
                )

    def _report_lost(self) -> None:
        if self.loaded is None:
            return
        lost = bpfmaps.read_lost(self.loaded.map_fd(self.resources.lost_map))
        if lost > self._lost_seen:
            self.output.lost(lost - self._lost_seen)
            self._lost_seen = lost


def run_session(obj: BpfObject, output: Any, child_argv: Sequence[str] | None = None,
                exiting: bool = False, pid: int | None = None) -> int:
    """Run a compiled object to completion with signal handling; always cleans up.

    exiting: the caller exits right after (the CLI): release perf events in the background.
    pid: the `-p` process; the session stops when it exits.
    """
    child = Child(child_argv) if child_argv else None
    session = Session(obj, output, child, PidWatch(pid) if pid is not None else None)
    guard_output(output, session_stopping(session))  # a stuck reader cannot stop us stopping
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in old:
        signal.signal(s, session.request_stop)
    try:
        session.start()
        return session.run()
    except RuntimeFailure:
        raise
    finally:
        session.close(in_background=exiting)
        for s, h in old.items():
            signal.signal(s, h)
