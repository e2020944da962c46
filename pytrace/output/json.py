"""NDJSON rendering (`-f json`): one bpftrace JSON record per line (shared/spec/OUTPUT.md).

Every function returns one complete line. Strings are always valid JSON whatever they
contain (control characters are escaped, invalid UTF-8 was replaced when decoding,
lone surrogates are replaced here), so `json.loads` accepts every line.
"""

from __future__ import annotations

from pytrace.output.text import format_key
from pytrace.values import (
    AvgValue,
    Histogram,
    MapSnapshot,
    Stack,
    TimeSeries,
    apply_top_div,
)

__all__ = [
    "json_str",
    "attached_record",
    "error_record",
    "json_value",
    "lost_record",
    "map_record",
    "text_record",
    "text_records",
    "value_record",
]


_ESCAPES = {c: f"\\u{c:04x}" for c in range(0x20)}
_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\", 10: "\\n", 13: "\\r", 9: "\\t"})


def _safe(s: str) -> str:
    """Replace lone surrogates (undecodable bytes) so the line encodes as UTF-8."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "replace").decode("utf-8")


def json_str(s: str) -> str:
    """A JSON string literal escaped like bpftrace (", \\, \\n, \\r, \\t, \\u00XX)."""
    return '"' + _safe(s).translate(_ESCAPES) + '"'


def _int(v: int) -> str:
    """Like current bpftrace: an integer a double cannot hold exactly becomes a string."""
    v = int(v)  # a Pointer or EnumValue as its number
    return str(v) if int(float(v)) == v else '"' + str(v) + '"'


def json_value(v: object) -> str:
    """One decoded value as JSON text (bpftrace spacing: arrays ',' objects ', ')."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):  # enums and pointers too: JSON shows their numbers
        return _int(v)
    if isinstance(v, str):
        return json_str(v)
    if isinstance(v, tuple | list):
        return "[" + ",".join(json_value(x) for x in v) + "]"
    if isinstance(v, (bytes, bytearray)):  # buf(): its bytes as (signed char) numbers
        return "[" + ",".join(str(b - 256 if b > 127 else b) for b in bytes(v)) + "]"
    if isinstance(v, Stack):  # the text printf shows, one frame per line
        return json_str(str(v))
    if isinstance(v, AvgValue):
        if v.stats:
            return (
                f'{{"count": {_int(v.count)}, "average": {_int(v.average)}, '
                f'"total": {_int(v.total)}}}'
            )
        return _int(v.average)
    if isinstance(v, Histogram):
        return _histogram(v)
    if isinstance(v, TimeSeries):
        from pytrace.output.tseries import json_tseries

        return json_tseries(v)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json_str(str(k))}: {json_value(x)}" for k, x in v.items()) + "}"
    if v is None:
        return "null"
    return json_str(str(v))


def _histogram(h: Histogram) -> str:
    items = []
    for b in h.buckets:
        parts = []
        if b.low is not None:
            parts.append(f'"min": {_int(b.low)}')
        if b.high is not None:
            parts.append(f'"max": {_int(b.high)}')
        parts.append(f'"count": {_int(b.count)}')
        items.append("{" + ", ".join(parts) + "}")
    return "[" + ",".join(items) + "]"


def _key_str(key: tuple[object, ...]) -> str:
    """A key as its text, components joined by ',' and every space removed (bpftrace
    strips them from the key text, spaces inside strings included)."""
    return format_key(key).replace(" ", "")


def _record_type(snap: MapSnapshot) -> str:
    first = snap.entries[0].value if snap.entries else None
    if isinstance(first, AvgValue):
        return "stats"
    if isinstance(first, Histogram):
        return "hist"
    if isinstance(first, TimeSeries):
        return "tseries"
    return "map"


def map_record(snap: MapSnapshot, top: int = 0, div: int = 1) -> str:
    """`{"type": "map"|"hist"|"stats", "data": {"@name": …}}`; '' for an empty map."""
    snap = apply_top_div(snap, top, div)
    if not snap.entries:
        return ""
    if snap.is_scalar:
        body = json_value(snap.entries[0].value)
    else:
        body = (
            "{"
            + ", ".join(
                f"{json_str(_key_str(e.key or ()))}: {json_value(e.value)}" for e in snap.entries
            )
            + "}"
        )
    return f'{{"type": "{_record_type(snap)}", "data": {{{json_str(snap.name)}: {body}}}}}\n'


def value_record(v: object) -> str:
    return f'{{"type": "value", "data": {json_value(v)}}}\n'


def text_record(kind: str, text: str) -> str:
    """printf, time, cat, join, syscall: `{"type": kind, "data": "text"}`."""
    return f'{{"type": "{kind}", "data": {json_str(text)}}}\n'


def text_records(kind: str, texts: list[str]) -> str:
    """text_record of each text, joined."""
    head = f'{{"type": "{kind}", "data": '
    return "".join([f"{head}{json_str(t)}}}\n" for t in texts])


def attached_record(n: int) -> str:
    return f'{{"type": "attached_probes", "count": {n}, "data": {{"probes": {n}}}}}\n'


def lost_record(n: int) -> str:
    return f'{{"type": "lost_events", "count": {n}, "data": {{"events": {n}}}}}\n'


def error_record(
    kind: str, msg: str, filename: str = "", line: int = 0, col: int = 0, **extra: object
) -> str:
    """errorf / warnf / helper_error records: msg, any extra fields, then the location."""
    fields = [f'"type": {json_str(kind)}', f'"msg": {json_str(msg)}']
    fields += [f"{json_str(k)}: {json_value(v)}" for k, v in extra.items()]
    fields += [f'"filename": {json_str(filename)}', f'"line": {line}', f'"col": {col}']
    return "{" + ", ".join(fields) + "}\n"
