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
            loc: SourceLoc | None = None) -> EventSpec:
        fields: list[FieldSpec] = []
        off = 8
        for t in arg_types:
            fields.append(FieldSpec(off, t))
            off += max(8, t.size)
        spec = EventSpec(len(self.events), kind, fmt, tuple(fields), map_name, off, loc)
        self.events.append(spec)
        return spec
