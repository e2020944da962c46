"""Ring-buffer event ids and record layouts, collected while code is generated."""

from __future__ import annotations

from collections.abc import Sequence

from pytrace.resources import EventSpec, FieldSpec
from pytrace.types import Type


class EventTable:
    """Assigns consecutive event ids; each record is `u64 id` then 8-aligned fields."""

    def __init__(self) -> None:
        self.events: list[EventSpec] = []

    def add(self, kind: str, arg_types: Sequence[Type], fmt: str = "", map_name: str = "",
            probe: str = "") -> EventSpec:
        """A new event id for a record of `kind` sent by the probe named `probe`."""
        fields: list[FieldSpec] = []
        off = 8
        for t in arg_types:
            fields.append(FieldSpec(off, t))
            off += max(8, t.size)
        spec = EventSpec(len(self.events), kind, fmt, tuple(fields), map_name, off, probe)
        self.events.append(spec)
        return spec
