"""The tseries() aggregation: `@m[k] = tseries(value, interval_ns, n[, "avg"|"max"|"min"|"sum"])`
keeps, per key, the last `n` intervals of `interval_ns` nanoseconds (durations such as
`100ms` read well here); each interval holds the last value written in it, or the
average, maximum, minimum or sum of its values. The lowering is in codegen/tseries.py,
the decoding in runtime/tseries.py, the chart in output/tseries.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytrace import nodes
from pytrace.builtins.base import Builtin, TypeContext, call_args, type_word
from pytrace.types import AggT, IntT, PtrT, Type

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

AGGS = ("avg", "max", "min", "sum")
MAX_INTERVALS = 10000


def _literal(ctx: TypeContext, arg: nodes.Expr, what: str, lo: int, hi: int) -> int | None:
    value = ctx.const_int(arg)
    if value is None:
        ctx.diags.error(f"tseries(): {what} must be an integer literal", arg.span)
        return None
    if not lo <= value <= hi:
        ctx.diags.error(f"tseries(): {what} must be between {lo} and {hi} ({value} provided)",
                        arg.span)
        return None
    return value


def _rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    argv = call_args(node)
    if args and not isinstance(args[0], IntT | PtrT):
        ctx.diags.error(f"tseries() only supports integer values ({type_word(args[0])} "
                        "provided)", argv[0].span)
    interval = _literal(ctx, argv[1], "the interval (ns)", 1, (1 << 63) - 1) or 1
    n = _literal(ctx, argv[2], "the number of intervals", 1, MAX_INTERVALS) or 1
    agg = ""
    if len(argv) == 4:
        text = ctx.const_str(argv[3])
        if text not in AGGS:
            ctx.diags.error("tseries(): the aggregation must be one of "
                            + ", ".join(f'"{a}"' for a in AGGS), argv[3].span)
        else:
            agg = text
    signed = not (args and isinstance(args[0], IntT) and not args[0].signed)
    return AggT("tseries", signed, interval=interval, buckets=n, tagg=agg)


def _update(p: ProgEmitter, target: nodes.MapRef, call: nodes.Call, agg: AggT) -> None:
    from pytrace.codegen.tseries import update_tseries

    update_tseries(p, target, call, agg)


TSERIES: tuple[Builtin, ...] = (
    Builtin("tseries", _rule, min_args=3, max_args=4, aggregation=True, update=_update),
)
