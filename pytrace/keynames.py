"""Names for a map's key components, taken from the key expressions (for labels).

`@opens[comm]` -> ('comm',); `@x[pid, args.filename]` -> ('pid', 'filename');
`@[probe]` -> ('probe',); `@[str(args.filename)]` -> ('filename',); anything without a
name -> 'key0', 'key1'... by position. A repeated name gets its position appended
(`@[pid, pid]` -> ('pid', 'pid_1')). A single tuple expression used as the key names
its elements, because the runtime decodes such a key into its components.

The names are what docs/prometheus.md calls label names; the compiler stores them in
`MapSpec.key_names`. Pure: works on AST nodes only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pytrace import nodes

__all__ = ["key_names"]

# Functions that convert a value without changing what it names: `str(args.filename)`
# is still the file name, `ksym(addr)` still the address.
TRANSPARENT_CALLS = frozenset({"str", "buf", "ksym", "usym", "ntop", "macaddr", "kptr", "uptr",
                               "strerror"})
# Calls named for what they return whatever their arguments (`kstack(perf, 3)`).
NAMED_CALLS = frozenset({"kstack", "ustack", "cgroup_path"})
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _expr_name(e: nodes.Expr) -> str | None:
    """The name an expression stands for, or None when it has none."""
    if isinstance(e, nodes.Identifier | nodes.Variable):
        return e.name
    if isinstance(e, nodes.FieldAccess):
        return e.field_name
    if isinstance(e, nodes.Cast):
        return _expr_name(e.expr)
    if isinstance(e, nodes.Call):
        if e.name in NAMED_CALLS or not e.args:
            return e.name
        if e.name in TRANSPARENT_CALLS:
            return _expr_name(e.args[0])
    return None


def _valid(name: str | None) -> bool:
    return name is not None and _LABEL.fullmatch(name) is not None and not name.startswith("__")


def key_names(keys: Sequence[nodes.Expr]) -> tuple[str, ...]:
    """One label name per decoded key component of a map accessed as `@m[keys...]`."""
    exprs = list(keys)
    if len(exprs) == 1 and isinstance(exprs[0], nodes.TupleExpr):
        exprs = list(exprs[0].elems)
    out: list[str] = []
    for i, e in enumerate(exprs):
        name = _expr_name(e)
        base = name if name is not None and _valid(name) else f"key{i}"
        candidate = base
        while candidate in out:
            candidate = f"{base}_{i}" if candidate == base else f"{candidate}_"
        out.append(candidate)
    return tuple(out)
