"""Map aggregations: count, sum, min, max, avg, stats, hist, lhist (value type AggT).
Type rules and lowering (`@m[k] = f(x)` updates the per-CPU value in place; the in-map
layouts are described in pytrace/types.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytrace import nodes
from pytrace.builtins.base import Builtin, TypeContext, Update, call_args, type_word
from pytrace.types import AggT, IntT, PtrT, Type

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

MAX_HIST_BITS = 5


def _value_arg(ctx: TypeContext, node: nodes.Expr, args: list[Type], name: str) -> bool:
    t = args[0] if args else None
    if not isinstance(t, IntT | PtrT):
        ctx.diags.error(f"{name}() only supports integer arguments ({type_word(t)} provided)",
                        node.span)
        return False
    return True


def _signed(args: list[Type]) -> bool:
    return isinstance(args[0], IntT) and args[0].signed if args else True


def _count(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    return AggT("count", signed=False)


def _simple(kind: str):  # type: ignore[no-untyped-def]
    def rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
        _value_arg(ctx, node, args, kind)
        return AggT(kind, signed=_signed(args))

    return rule


def _literal(ctx: TypeContext, node: nodes.Expr, index: int, what: str) -> int | None:
    arg = call_args(node)[index]
    value = ctx.const_int(arg)
    if value is None:
        ctx.diags.error(f"{getattr(node, 'name', '')}(): {what} must be an integer literal",
                        arg.span)
    return value


def _hist(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    _value_arg(ctx, node, args, "hist")
    bits = 0
    if len(call_args(node)) == 2:
        k = _literal(ctx, node, 1, "the number of bits")
        if k is not None and not 0 <= k <= MAX_HIST_BITS:
            ctx.diags.error(f"hist() bits must be between 0 and {MAX_HIST_BITS} "
                            f"({k} provided)", call_args(node)[1].span)
        elif k is not None:
            bits = k
    return AggT("hist", signed=_signed(args), hist_bits=bits)


def _lhist(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    _value_arg(ctx, node, args, "lhist")
    lo = _literal(ctx, node, 1, "min")
    hi = _literal(ctx, node, 2, "max")
    step = _literal(ctx, node, 3, "step")
    if lo is None or hi is None or step is None:
        return AggT("lhist", signed=_signed(args))
    bad = False
    if lo < 0:
        ctx.diags.error(f"lhist() min must be non-negative (provided min {lo})", node.span)
        bad = True
    if lo >= hi:
        ctx.diags.error(f"lhist() min must be less than max (provided min {lo} and max {hi})",
                        node.span)
        bad = True
    if step < 1:
        ctx.diags.error(f"lhist() step must be >= 1 ({step} provided)", node.span)
        bad = True
    elif not bad and (hi - lo) // step > 10000:
        ctx.diags.error(f"lhist() too many buckets, max is 10000 (provided {(hi - lo) // step})",
                        node.span)
        bad = True
    elif not bad and step > hi - lo:
        ctx.diags.error(f"lhist() step is too large for the given range (provided step {step} "
                        f"for range {hi - lo})", node.span)
    return AggT("lhist", signed=_signed(args), lmin=lo, lmax=hi, lstep=max(step, 1))


# ------------------------------------------------------------------ lowering
def _value(p: ProgEmitter, call: nodes.Call) -> Any:
    return p.as_i64(p.expr(call.args[0])) if call.args else p.c64(1)


def _add(*slots: str) -> Update:
    """Add to the value's 8-byte slots in place: 'x' the argument, '1' one."""

    def update(p: ProgEmitter, target: nodes.MapRef, call: nodes.Call, agg: AggT) -> None:
        x = _value(p, call) if "x" in slots else None
        values = [x if s == "x" else p.c64(1) for s in slots]
        p.maps.add_in_place(p.gen.map_global(target.name), p.map_key(target.name, target.keys),
                            values)

    return update


def _minmax(is_max: bool) -> Update:
    def update(p: ProgEmitter, target: nodes.MapRef, call: nodes.Call, agg: AggT) -> None:
        x = _value(p, call)
        p.maps.minmax(p.gen.map_global(target.name), p.map_key(target.name, target.keys), x,
                      is_max, agg.signed)

    return update


def _bucketed(p: ProgEmitter, target: nodes.MapRef, call: nodes.Call, agg: AggT) -> None:
    """hist/lhist: count one in the (key, bucket) slot."""
    x = _value(p, call)
    idx = p.hist_index(x, agg.hist_bits) if agg.kind == "hist" else p.lhist_index(x, agg)
    p.maps.add_in_place(p.gen.map_global(target.name),
                        p.map_key(target.name, target.keys, idx), [p.c64(1)])


def _agg(name: str, rule, lo: int, hi: int, update: Update) -> Builtin:  # type: ignore[no-untyped-def]
    return Builtin(name, rule, min_args=lo, max_args=hi, aggregation=True, update=update)


AGGREGATIONS: tuple[Builtin, ...] = (
    _agg("count", _count, 0, 0, _add("1")),
    _agg("sum", _simple("sum"), 1, 1, _add("x")),
    _agg("min", _simple("min"), 1, 1, _minmax(False)),
    _agg("max", _simple("max"), 1, 1, _minmax(True)),
    _agg("avg", _simple("avg"), 1, 1, _add("x", "1")),
    _agg("stats", _simple("stats"), 1, 1, _add("x", "1")),
    _agg("hist", _hist, 1, 2, _bucketed),
    _agg("lhist", _lhist, 4, 4, _bucketed),
)
