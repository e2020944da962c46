"""Ring-buffer records -> calls on an output sink: the one record dispatcher under the
CLI, the REPL and the Python API.

A record is `u64 event id` followed by the fields its EventSpec describes; the id
indexes the Resources of the program group that produced it. Records after an exit()
record are dropped: nothing a probe did after the program asked to stop is shown.

A sink that is also an `EventSink` (the Python API's) additionally gets each record's
EventSpec and decoded fields around the ordinary call (`begin_record` before,
`end_record` after), so it can build an event object from the typed values and the text
the ordinary call rendered. Text sinks pay one boolean test per record for this.

`handle_batch` is the fast path for a ring-buffer Batch read in place: runs of printf
records with a precompiled layout and template (runtime/runs.py) are decoded at C
speed and the batch is released (its ring space freed) before anything is written.
A sink whose `printf_joined` is true (the text outputs: printf of joined texts is the
same as printf of each) gets the consecutive printf texts of a batch in one `printf`
call, so a batch is one write; a sink with `printf_many` (`BatchSink`: JSON) gets them
as a list. Everything else takes `handle`'s path, one record at a time, in order.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from pytrace.resources import EventKind, EventSpec, Resources, SourceLoc
from pytrace.runtime.decode import StrFormat, Symbolizer, decode_value
from pytrace.runtime.ringbuf import Batch
from pytrace.runtime.runs import RunPrintf, compile_run_printf, record_stride
from pytrace.types import Type
from pytrace.values import MapSnapshot

# bpf_func_id -> name, for helper errors (the helpers whose failures are reported)
E2BIG, ENOENT = 7, 2
WARNING_KINDS = frozenset({EventKind.WARNF, EventKind.RUNTIME_ERROR, EventKind.HELPER_ERROR,
                           EventKind.DEBUGF})


class Sink(Protocol):
    """Where records end up (text, JSON, rich, the REPL's screen, Python events)."""

    def printf(self, text: str) -> None: ...
    def value(self, v: object, t: Type | None = None) -> None: ...
    def map(self, snap: MapSnapshot, top: int = 0, div: int = 1) -> None: ...
    def time(self, text: str) -> None: ...
    def cat(self, text: str) -> None: ...
    def join(self, text: str) -> None: ...
    def syscall(self, text: str) -> None: ...
    def error(self, msg: str) -> None: ...
    def located(self, kind: str, loc: SourceLoc, msg: str,
                extra: dict[str, object] | None = None) -> None: ...


class EventSink(Sink, Protocol):
    """A Sink that also wants every record's spec and decoded fields (Python events).

    `begin_record(ev, probe)` comes before the ordinary sink call of a record (`probe`:
    the attach point that sent it), and
    `end_record(ev, values)` after it, with the record's decoded fields (printf's
    arguments, print's value, exit's code; None where the kind has no fields to decode).
    Records that are actions only (clear, zero) are bracketed too.
    """

    def begin_record(self, ev: EventSpec, probe: str) -> None: ...
    def end_record(self, ev: EventSpec, values: list[object] | None) -> None: ...


class BatchSink(Sink, Protocol):
    """A Sink that takes many printf texts at once (in order); the result must be what
    `printf` of each in turn gives."""

    def printf_many(self, texts: list[str]) -> None: ...


class MapAccess(Protocol):
    """The maps a dispatcher's records refer to (the engine's)."""

    def snapshot(self, name: str) -> MapSnapshot: ...
    def clear(self, name: str) -> None: ...
    def zero(self, name: str) -> None: ...
    def unwatch(self, address: int) -> None: ...


Decoder = Callable[[memoryview], list[object]]


def helper_message(helper: str, retcode: int) -> str:
    """What a failing helper's warning says (current bpftrace's words): the reason, then
    an `Additional Info - helper: NAME, retcode: N` line."""
    if helper == "map_lookup_elem":
        why = "Can't lookup map element because it does not exist."
    elif helper == "map_delete_elem" and retcode == -ENOENT:
        why = "Can't delete map element because it does not exist."
    elif helper == "map_update_elem" and retcode == -E2BIG:
        why = ("Map full; can't update element. Try increasing max_map_keys config or "
               "manually setting the max entries in a map declaration e.g. `let @a = "
               "hash(5000)`")
    else:
        why = os.strerror(-retcode)
    return f"{why}\nAdditional Info - helper: {helper}, retcode: {retcode}"


def read_file(path: str, limit: int) -> str:
    """cat(): at most `limit` bytes of a file, as text (OSError when it cannot be read)."""
    with open(path, "rb") as f:
        return f.read(limit).decode("utf-8", errors="replace")


def run_command(command: str) -> str:
    """system(): run the command through the shell, wait for it, return its stdout."""
    try:
        done = subprocess.run(command, shell=True, stdout=subprocess.PIPE,  # noqa: S602
                              stdin=subprocess.DEVNULL, check=False)
    except OSError as exc:
        return f"{exc.strerror}\n"
    return done.stdout.decode("utf-8", errors="replace")


class Dispatcher:
    """Decodes one program group's records and calls the sink; `on_exit(code)` runs for
    the first exit() record."""

    def __init__(self, resources: Resources, maps: MapAccess, sink: Sink,
                 symbolizer: Callable[[], Symbolizer | None],
                 on_exit: Callable[[int], None]) -> None:
        self.resources = resources
        self.maps = maps
        self.sink = sink
        self.symbolizer = symbolizer
        self.on_exit = on_exit
        self.exited = False
        self._decoders: dict[int, Decoder] = {}
        self.strings = StrFormat(resources.max_strlen, resources.str_trunc_trailer)
        self._typed = callable(getattr(sink, "begin_record", None))
        # batches: one printf call with the joined texts of many records (a sink whose
        # printf_joined says that is the same as one call each), else printf_many
        self._joined = not self._typed and bool(getattr(sink, "printf_joined", False))
        self._batched = self._joined or (
            not self._typed and callable(getattr(sink, "printf_many", None)))
        self._runs: dict[int, RunPrintf | None] = {}

    def _decoder(self, ev: EventSpec) -> Decoder:
        dec = self._decoders.get(ev.id)
        if dec is None:
            names = self.resources.probe_names
            fields = ev.args
            symbolizer = self.symbolizer
            strings = self.strings

            def dec(rec: memoryview) -> list[object]:
                sym = symbolizer()
                return [decode_value(f.type, rec, f.offset, names, sym, strings)
                        for f in fields]

            self._decoders[ev.id] = dec
        return dec

    def _probe(self, ev: EventSpec, rec: memoryview) -> str:
        """The attach point that sent a record (read from it for a shared body)."""
        if not ev.probe_offset:
            return ev.probe
        names = self.resources.probe_names
        i = int.from_bytes(rec[ev.probe_offset:ev.probe_offset + 8], "little")
        return names[i] if i < len(names) else ""

    def _seen(self, rec: memoryview, ev: EventSpec) -> None:
        sym = self.symbolizer()
        if sym is not None and hasattr(sym, "snapshot") and ev.args:
            off = ev.args[0].offset
            sym.snapshot(int.from_bytes(rec[off:off + 8], "little"))

    def handle(self, records: Sequence[bytes | memoryview]) -> int:
        """Dispatch a batch of records; how many were shown or acted on."""
        from pytrace.printf_format import format_printf  # once per batch, not per record

        events = self.resources.events
        sink = self.sink
        typed = self._typed
        done = 0
        for raw in records:
            if self.exited:
                break
            rec = memoryview(raw)
            if len(rec) < 8:
                continue
            eid = int.from_bytes(rec[:8], "little")
            if eid >= len(events):
                continue
            ev = events[eid]
            kind = ev.kind
            if kind == EventKind.PID_SEEN:  # internal: remember the process's mappings
                self._seen(rec, ev)
                continue
            done += 1
            vals: list[object] | None = None
            if typed:
                sink.begin_record(ev, self._probe(ev, rec))  # type: ignore[attr-defined]
            if kind == EventKind.PRINTF:
                vals = self._decoder(ev)(rec)
                sink.printf(format_printf(ev.fmt, vals))
            elif kind == EventKind.PRINT_VALUE:
                vals = self._decoder(ev)(rec)
                sink.value(vals[0], ev.args[0].type)
            elif kind == EventKind.EXIT:
                self.exited = True
                vals = self._decoder(ev)(rec)
                self.on_exit(int(vals[0]) & 0xFF)  # type: ignore[call-overload]
            else:
                vals = self._other(ev, rec, format_printf)
            if typed:
                sink.end_record(ev, vals)  # type: ignore[attr-defined]
        return done

    def _other(self, ev: EventSpec, rec: memoryview,
               fmt: Callable[[str, Sequence[object]], str]) -> list[object] | None:
        """Every other record kind; its decoded fields (for typed sinks), or None."""
        kind, sink = ev.kind, self.sink
        if kind in WARNING_KINDS and not self.resources.warnings:
            return None
        vals = self._decoder(ev)(rec) if ev.args else None
        if kind == EventKind.PRINT_MAP:
            top = int(vals[0]) if vals else 0  # type: ignore[call-overload]
            div = int(vals[1]) if vals and len(vals) > 1 else 1  # type: ignore[call-overload]
            sink.map(self.maps.snapshot(ev.map_name), top, div or 1)
        elif kind == EventKind.CLEAR:
            self.maps.clear(ev.map_name)
        elif kind == EventKind.ZERO:
            self.maps.zero(ev.map_name)
        elif kind == EventKind.TIME:
            sink.time(time.strftime(ev.fmt))
        elif kind == EventKind.CAT:
            path = fmt(ev.fmt, vals or [])
            try:
                sink.cat(read_file(path, self.resources.max_cat_bytes))
            except OSError as exc:
                sink.error(f"failed to open file '{path}': {exc.strerror}")
        elif kind == EventKind.SYSTEM:
            sink.syscall(run_command(fmt(ev.fmt, vals or [])))
        elif kind == EventKind.JOIN and vals:
            count, *parts = vals
            sink.join(ev.fmt.join(str(p) for p in parts[:int(count)]))  # type: ignore[call-overload]
        elif kind == EventKind.UNWATCH and vals:
            self.maps.unwatch(int(vals[0]))  # type: ignore[call-overload]
        elif kind == EventKind.HELPER_ERROR and ev.loc is not None and vals:
            retcode = int(vals[0])  # type: ignore[call-overload]
            sink.located(kind, ev.loc, helper_message(ev.fmt, retcode),
                         {"helper": ev.fmt, "retcode": retcode})
        elif kind in EventKind.LOCATED and ev.loc is not None:
            sink.located(kind, ev.loc, fmt(ev.fmt, vals or []))
        return vals

    # ------------------------------------------------------------ batches
    def _run_printf(self, ev: EventSpec, length: int) -> RunPrintf | None:
        if ev.id in self._runs:
            fast = self._runs[ev.id]
        else:
            fast = self._runs[ev.id] = compile_run_printf(ev, self.strings) if self._batched else None
        if fast is not None and fast.stride != record_stride(length):
            return None
        return fast

    def handle_batch(self, batch: Batch) -> int:
        """Dispatch a Batch read in place, in order; how many records were shown or acted
        on. Every record is decoded (or copied) first, then the batch is released."""
        events = self.resources.events
        items: list[tuple[RunPrintf | None, list[Any]]] = []
        for run in batch.runs:
            if run.key >= len(events):
                continue
            fast = self._run_printf(events[run.key], run.length)
            if fast is not None:
                items.append((fast, fast.decode(batch.view, run.start - 8, run.count)))
            else:
                items.append((None, [batch.record(run, i) for i in range(run.count)]))
        batch.release()
        done = 0
        pending: list[Any] = []
        for fast, payload in items:
            if self.exited:
                break
            if fast is not None:
                if self._joined:
                    pending.append(fast.text(payload))
                else:
                    pending += fast.texts(payload)
                done += sum(k for k, _ in payload)
                continue
            self._flush(pending)
            done += self.handle(payload)
        self._flush(pending)
        return done

    def _flush(self, pending: list[str]) -> None:
        """Give the sink the printf texts collected so far (and forget them)."""
        if not pending:
            return
        if self._joined:
            self.sink.printf("".join(pending))
        else:
            self.sink.printf_many(pending)  # type: ignore[attr-defined]
        pending.clear()
