"""The lowering of `@m[k] = tseries(x, interval, n[, agg])`.

The interval of now is `epoch = (ktime + wall offset) / interval` (the wall offset,
written by userspace into __globals, makes intervals start on wall-clock multiples of
the interval); it lives in slot `epoch % n` of the key, a per-CPU value of epoch,
value, count and the time of the last update. A slot still holding an older epoch is
restarted; otherwise the value is combined as the aggregation says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from pytrace import nodes
from pytrace.codegen import helpers as h
from pytrace.codegen.base import I64, c64
from pytrace.resources import GLOBAL_WALL_OFFSET
from pytrace.types import TSERIES_SLOT, AggT

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

EPOCH, VALUE, COUNT, STAMP = 0, 8, 16, 24


def _combine(p: ProgEmitter, slot: ir.Value, x: ir.Value, agg: AggT) -> None:
    b = p.b
    cur = p.load64(slot, VALUE)
    if agg.tagg in ("sum", "avg"):
        new = b.add(cur, x)
    elif agg.tagg in ("min", "max"):
        op = "<" if agg.tagg == "min" else ">"
        better = b.icmp_signed(op, x, cur) if agg.signed else b.icmp_unsigned(op, x, cur)
        new = b.select(better, x, cur)
    else:
        new = x
    p.store64(new, slot, VALUE)


def update_tseries(p: ProgEmitter, target: nodes.MapRef, call: nodes.Call, agg: AggT) -> None:
    b = p.b
    x = p.as_i64(p.expr(call.args[0]))
    now = p.helper(h.KTIME_GET_NS, I64, [])
    epoch = b.udiv(b.add(now, p.global_slot(GLOBAL_WALL_OFFSET)), c64(agg.interval))
    index = b.urem(epoch, c64(agg.buckets))
    gv = p.gen.map_global(target.name)
    key = p.map_key(target.name, target.keys, index)
    slot = p.maps.lookup(gv, key)
    with b.if_else(p.not_null(slot)) as (found, missing):
        with found:
            with b.if_else(b.icmp_unsigned("==", p.load64(slot, EPOCH), epoch)) as (same, old):
                with same:
                    _combine(p, slot, x, agg)
                    p.store64(b.add(p.load64(slot, COUNT), c64(1)), slot, COUNT)
                with old:
                    p.store64(epoch, slot, EPOCH)
                    p.store64(x, slot, VALUE)
                    p.store64(c64(1), slot, COUNT)
            p.store64(now, slot, STAMP)
        with missing:
            buf = p.alloca_buf(TSERIES_SLOT)
            for off, v in ((EPOCH, epoch), (VALUE, x), (COUNT, c64(1)), (STAMP, now)):
                p.store64(v, buf, off)
            p.maps.update(gv, key, buf, h.BPF_NOEXIST)
