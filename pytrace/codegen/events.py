"""Ring-buffer event ids and record layouts, collected while code is generated."""

from __future__ import annotations

from collections.abc import Sequence

from pytrace.resources import EventSpec, FieldSpec, SourceLoc
from pytrace.types import Type


class EventTable:
    """Assigns consecutive event ids; each record is `u64 id` then 8-aligned fields."""

    def __init__(self) -> None:
        self.events: list[EventSpec] = []

    def add(self, kind: str, arg_types: Sequence[Type], fmt: str = "", map_name: str = "",
            probe: str = "", probe_in_record: bool = False,
            loc: SourceLoc | None = None) -> EventSpec:
        """A new event id for a record of `kind` sent by the probe named `probe`, or, with
        probe_in_record, by the probe whose name index follows the fields; `loc` is the
        source location errorf and runtime warnings print."""
        fields: list[FieldSpec] = []
        off = 8
        for t in arg_types:
            fields.append(FieldSpec(off, t))
            off += max(8, t.size)
        probe_offset = 0
        if probe_in_record:
            probe, probe_offset, off = "", off, off + 8
        spec = EventSpec(len(self.events), kind, fmt, tuple(fields), map_name, off, probe,
                         probe_offset, loc)
        self.events.append(spec)
        return spec
