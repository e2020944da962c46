"""Metric family names, label names and label values for pytrace maps.

Rules (docs/prometheus.md): `@opens` -> `pytrace_opens`, the anonymous map `@` ->
`pytrace_anon`; label names are `MapSpec.key_names` (from the key expressions), or
`key0`, `key1`... when the compiler gave none or their number does not match the decoded
key; label values are the key components as text (stacks folded root first with `;`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pytrace.printf_format import format_buffer
from pytrace.values import Stack

__all__ = ["ANON_FAMILY", "PREFIX", "family_name", "label_names", "label_value"]

PREFIX = "pytrace_"
ANON_FAMILY = PREFIX + "anon"
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")


def family_name(map_name: str) -> str:
    """The metric family of a map: `@opens` -> `pytrace_opens`, `@` -> `pytrace_anon`.

    Characters Prometheus does not allow in a name become `_`.
    """
    bare = map_name.lstrip("@")
    return PREFIX + _NOT_NAME.sub("_", bare) if bare else ANON_FAMILY


def label_names(key_names: Sequence[str], arity: int, reserved: Sequence[str] = ()) -> tuple[str, ...]:
    """Label names for a key of `arity` components.

    The compiler's names when there is one per component; else `key0`, `key1`... A name
    the metric type reserves (`le` for histograms, `quantile` for summaries) becomes its
    positional name; a name that repeats gets its position appended.
    """
    names = list(key_names) if len(key_names) == arity else [f"key{i}" for i in range(arity)]
    out: list[str] = []
    for i, name in enumerate(names):
        candidate = f"key{i}" if name in reserved or name.startswith("__") else name
        while candidate in out or candidate in reserved:
            candidate += f"_{i}"
        out.append(candidate)
    return tuple(out)


def _utf8(text: str) -> str:
    """Text that encodes as UTF-8 (lone surrogates, e.g. from surrogateescape, become U+FFFD)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def label_value(v: object) -> str:
    """One key component as a label value (prometheus_client escapes it on exposition)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return _utf8(v)
    if isinstance(v, Stack):
        return _utf8(";".join(reversed(v.frames)))
    if isinstance(v, bytes | bytearray):
        return format_buffer(bytes(v))
    if isinstance(v, tuple):
        return "(" + ", ".join(label_value(x) for x in v) + ")"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}={label_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(label_value(x) for x in v) + "]"
    return _utf8("" if v is None else str(v))
