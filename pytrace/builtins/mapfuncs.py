"""Functions over a whole map or one of its elements: clear, zero, delete, has_key, len.
Type rules and lowering."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytrace import nodes
from pytrace.builtins.base import I64, Builtin, fixed
from pytrace.builtins.rules import VOID
from pytrace.codegen.values import Val, is_scalar
from pytrace.resources import EventKind
from pytrace.types import AggT, IntT, VoidT

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter


def _map(e: nodes.Call) -> nodes.MapRef:
    m = e.args[0]
    assert isinstance(m, nodes.MapRef)  # the typecheck pass guarantees it
    return m


def _keys(p: ProgEmitter, m: nodes.MapRef, keys: list[nodes.Expr]) -> list[nodes.Expr]:
    """`f(@m, (a, b))` names the element @m[a, b] of a map with two keys."""
    if len(keys) == 1 and isinstance(keys[0], nodes.TupleExpr) and p.checked.maps[m.name].multi_key:
        return keys[0].elems
    return keys


def _whole_map_event(kind: str):  # type: ignore[no-untyped-def]
    def emit(p: ProgEmitter, e: nodes.Call) -> Val:
        p.event(kind, [], map_name=_map(e).name)
        return Val(VoidT(), p.c64(0))

    return emit


def _delete(p: ProgEmitter, e: nodes.Call) -> Val:
    m = _map(e)
    keys = _keys(p, m, m.keys if len(e.args) == 1 else e.args[1:])
    if p.gen.map_spec(m.name).kind.is_array:
        # an array slot cannot be deleted (and BPF only writes this CPU's copy):
        # userspace clears it on every CPU
        p.event(EventKind.CLEAR, [], map_name=m.name)
    else:
        p.maps.delete(p.gen.map_global(m.name), p.map_key(m.name, keys))
    return Val(VoidT(), p.c64(0))


def _has_key(p: ProgEmitter, e: nodes.Call) -> Val:
    m = _map(e)
    ptr = p.maps.lookup(p.gen.map_global(m.name), p.map_key(m.name, _keys(p, m, e.args[1:])))
    return Val(IntT(), p.b.zext(p.not_null(ptr), p.I64))


def _len(p: ProgEmitter, e: nodes.Call) -> Val:
    m = _map(e)
    vt = p.checked.maps[m.name].value_type
    if isinstance(vt, AggT) and vt.is_bucketed:
        raise p.fail(f"len() of a {vt.kind}() map is not supported (its entries are "
                     "buckets, not keys)", e)
    t = p.type_of(e)
    return Val(t if is_scalar(t) else IntT(), p.map_len(m.name))


MAP_FUNCTIONS: tuple[Builtin, ...] = (
    Builtin("clear", fixed(VOID), min_args=1, max_args=1, map_arg=True,
            emit=_whole_map_event(EventKind.CLEAR)),
    Builtin("zero", fixed(VOID), min_args=1, max_args=1, map_arg=True,
            emit=_whole_map_event(EventKind.ZERO)),
    Builtin("delete", fixed(VOID), min_args=1, max_args=2, map_arg=True, emit=_delete),
    Builtin("has_key", fixed(I64), min_args=2, max_args=2, map_arg=True, emit=_has_key),
    Builtin("len", fixed(I64), min_args=1, max_args=1, map_arg=True, emit=_len),
)
