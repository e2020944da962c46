"""Records as Python objects: `Event`, and `EventCollector`, the output sink that makes
them (it renders each record's text with the CLI's text output, so `.text` is exactly
what bpftrace prints, and keeps the typed values the dispatcher decoded)."""

from __future__ import annotations

import io
import warnings
from collections import deque
from collections.abc import Sequence
from typing import Any, TextIO

from pytrace.api.convert import snapshot_dict, to_python
from pytrace.frozen import frozen
from pytrace.output import TextOutput
from pytrace.resources import EventKind, EventSpec
from pytrace.types import Type
from pytrace.values import MapSnapshot, apply_top_div

__all__ = ["DEFAULT_MAX_EVENTS", "Event", "EventCollector", "TraceWarning"]

DEFAULT_MAX_EVENTS = 100_000
_ACTIONS = frozenset({EventKind.CLEAR, EventKind.ZERO})  # records that show nothing


class TraceWarning(UserWarning):
    """A runtime notice of a tracing session (a map is full...)."""


@frozen
class Event:
    """One record a probe sent, in order.

    kind: an EventKind value ('printf', 'print_value', 'print_map', 'time', 'exit', ...).
    probe: the attach point whose code sent it ('tracepoint:syscalls:sys_enter_openat').
    values: printf's arguments as Python values; print(x): (x,); print(@m): (a dict of
      the map,); exit(code): (code,); time(): ().
    text: what bpftrace prints for it ('' for exit).
    """

    kind: str
    probe: str
    values: tuple[object, ...]
    text: str


class EventCollector:
    """The Python API's sink: every shown record becomes an Event in `queue` (at most
    `max_events`; older ones are dropped and counted in `dropped`), and its text also
    goes to `stream` when one is given, followed by the maps at exit."""

    def __init__(self, stream: TextIO | None = None,
                 max_events: int = DEFAULT_MAX_EVENTS) -> None:
        self.stream = stream
        self.queue: deque[Event] = deque()
        self.max_events = max_events
        self.dropped = 0
        self.lost_events = 0
        self.attached_probes = 0
        self._buf = io.StringIO()
        self._text = TextOutput(self._buf, self._buf, quiet=True)
        self._probe = ""
        self._map: dict[object, object] | None = None

    # ------------------------------------------------------------ records
    def begin_record(self, ev: EventSpec, probe: str) -> None:
        self._probe = probe
        self._map = None

    def end_record(self, ev: EventSpec, values: Sequence[object] | None) -> None:
        text = self._buf.getvalue()
        self._buf.seek(0)
        self._buf.truncate()
        if ev.kind in _ACTIONS:
            return
        if self._map is not None:
            vals: tuple[object, ...] = (self._map,)
        else:
            vals = tuple(to_python(v) for v in values or ())
        if self.stream is not None and text:
            self.stream.write(text)
        self.queue.append(Event(ev.kind, self._probe, vals, text))
        if len(self.queue) > self.max_events:
            self.queue.popleft()
            self.dropped += 1

    def printf(self, text: str) -> None:
        self._text.printf(text)

    def value(self, v: object, t: Type | None = None) -> None:
        self._text.value(v, t)

    def map(self, snap: MapSnapshot, top: int = 0, div: int = 1) -> None:
        self._map = snapshot_dict(apply_top_div(snap, top, div))
        self._text.map(snap, top, div)

    def time(self, text: str) -> None:
        self._text.time(text)

    def __getattr__(self, name: str) -> Any:
        """Record kinds added later render as the text output renders them."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._text, name)

    # ------------------------------------------------------------ session notices
    def attached(self, n: int) -> None:
        self.attached_probes = n

    def lost(self, n: int) -> None:
        self.lost_events += n

    def warning(self, msg: str) -> None:
        warnings.warn(msg, TraceWarning, stacklevel=2)

    def maps_at_exit(self, snaps: list[MapSnapshot]) -> None:
        if self.stream is not None:
            TextOutput(self.stream, self.stream, quiet=True).maps_at_exit(snaps)

    def flush(self) -> None:
        if self.stream is not None:
            self.stream.flush()
