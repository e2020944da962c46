"""Functions over a whole map or one of its elements: clear, zero, delete, has_key,
find, len (of a map, or of a stack). Type rules and lowering."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytrace import nodes
from pytrace.builtins.base import I64, Builtin, TypeContext, call_args, fixed, type_word
from pytrace.builtins.rules import VOID
from pytrace.codegen.values import Val, is_scalar
from pytrace.resources import EventKind
from pytrace.types import AggT, BoolT, IntT, StackT, Type, VoidT

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

GET_STACK = 67
BPF_F_USER_STACK = 256


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
    """true when the element was there; a discarded result that is false warns."""
    m = _map(e)
    keys = _keys(p, m, m.keys if len(e.args) == 1 else e.args[1:])
    if p.gen.map_spec(m.name).kind.is_array:
        # an array slot cannot be deleted (and BPF only writes this CPU's copy):
        # userspace clears it on every CPU
        p.event(EventKind.CLEAR, [], map_name=m.name)
        return Val(BoolT(), p.c64(1))
    ret = p.maps.delete(p.gen.map_global(m.name), p.map_key(m.name, keys))
    if p.discarded is e and p.checked.options.warning_level > 0:
        with p.b.if_then(p.b.icmp_signed("<", ret, p.c64(0))):
            p.event(EventKind.HELPER_ERROR, [Val(IntT(64, True), ret)], "map_delete_elem",
                    node=e)
    return Val(BoolT(), p.b.zext(p.b.icmp_signed("==", ret, p.c64(0)), p.I64))


def _has_key_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    """has_key(@m, k): not of a hist/lhist/tseries map, whose BPF keys end with a bucket
    index (the key alone names no element). A map without keys is refused by the maps
    pass (the key does not match)."""
    t = args[0] if args else None
    if isinstance(t, AggT) and t.is_bucketed:
        ctx.diags.error(f"has_key() of a {t.kind}() map is not supported (its entries are "
                        "buckets, not keys)", node.span)
    return BoolT()


def _has_key(p: ProgEmitter, e: nodes.Call) -> Val:
    m = _map(e)
    ptr = p.maps.lookup(p.gen.map_global(m.name), p.map_key(m.name, _keys(p, m, e.args[1:2])))
    return Val(BoolT(), p.b.zext(p.not_null(ptr), p.I64))


def _find(p: ProgEmitter, e: nodes.Call) -> Val:
    """find(@m, k, $v): true and $v = @m[k] when the key is there."""
    m = _map(e)
    var = e.args[2]
    assert isinstance(var, nodes.Variable)
    vt = p.checked.maps[m.name].value_type
    t, slot = p.var_slot(var.name, var)
    ptr = p.maps.lookup(p.gen.map_global(m.name), p.map_key(m.name, _keys(p, m, e.args[1:2])))
    found = p.not_null(ptr)
    with p.b.if_then(found):
        if isinstance(vt, AggT) and vt.kind == "avg":
            total, count = p.load64(ptr, 0), p.load64(ptr, 8)
            safe = p.b.select(p.b.icmp_unsigned("==", count, p.c64(0)), p.c64(1), count)
            p.b.store(p.fit_int(Val(IntT(), p.b.udiv(total, safe)), t), slot)
        elif is_scalar(t):  # `let $v: int8`: the value as the variable holds it
            p.b.store(p.fit_int(Val(IntT(), p.load64(ptr, 0)), t), slot)
        else:
            p.copy(slot, ptr, min(t.size, vt.size))
    return Val(BoolT(), p.b.zext(found, p.I64))


def _len_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    t = args[0] if args else None
    arg = call_args(node)[0] if call_args(node) else None
    if not isinstance(arg, nodes.MapRef) and not isinstance(t, StackT):
        ctx.diags.error(f"len() expects a map or a stack ({type_word(t)} provided)", node.span)
    return I64


def _len(p: ProgEmitter, e: nodes.Call) -> Val:
    arg = e.args[0]
    if not isinstance(arg, nodes.MapRef):
        return _stack_depth(p, arg)
    vt = p.checked.maps[arg.name].value_type
    if isinstance(vt, AggT) and vt.is_bucketed:
        raise p.fail(f"len() of a {vt.kind}() map is not supported (its entries are "
                     "buckets, not keys)", e)
    return Val(I64, p.map_len(arg.name))


def _stack_depth(p: ProgEmitter, arg: nodes.Expr) -> Val:
    """len(kstack) / len(ustack): the frames bpf_get_stack copies, counted;
    len(dw_ustack): the frames the DWARF unwinder finds."""
    t = p.type_of(arg)
    assert isinstance(t, StackT)
    if isinstance(arg, nodes.Call | nodes.Identifier) and arg.name == "dw_ustack":
        from pytrace.builtins.stacks import dw_stack_depth

        return dw_stack_depth(p, arg)
    size = 8 * t.limit
    buf = p.alloca_buf(size)
    flags = 0 if t.kernel else BPF_F_USER_STACK
    ret = p.helper(GET_STACK, p.I64, [p.ctx, buf, p.c32(size), p.c64(flags)])
    neg = p.b.icmp_signed("<", ret, p.c64(0))
    return Val(I64, p.b.select(neg, p.c64(0), p.b.lshr(ret, p.c64(3))))


MAP_FUNCTIONS: tuple[Builtin, ...] = (
    Builtin("clear", fixed(VOID), min_args=1, max_args=1, map_arg=True,
            emit=_whole_map_event(EventKind.CLEAR)),
    Builtin("zero", fixed(VOID), min_args=1, max_args=1, map_arg=True,
            emit=_whole_map_event(EventKind.ZERO)),
    Builtin("delete", fixed(BoolT()), min_args=1, max_args=2, map_arg=True, discardable=True,
            emit=_delete),
    Builtin("has_key", _has_key_rule, min_args=2, max_args=2, map_arg=True, emit=_has_key),
    Builtin("find", fixed(BoolT()), min_args=3, max_args=3, map_arg=True, out_arg=2,
            emit=_find),
    Builtin("len", _len_rule, min_args=1, max_args=1, map_arg=True, emit=_len),
)

__all__ = ["MAP_FUNCTIONS"]
