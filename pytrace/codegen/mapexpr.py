"""IR for map keys, map reads, plain assignments and ++/-- on maps (aggregations are
lowered by their builtins registry entries)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from pytrace import nodes
from pytrace.codegen.base import c64
from pytrace.codegen.errors import CodegenError
from pytrace.codegen.operators import arith, signed_div
from pytrace.codegen.values import Val, is_scalar, is_signed
from pytrace.resources import EventKind
from pytrace.types import AggT, IntT, TupleT, Type

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter


def build_key(p: ProgEmitter, name: str, keys: list[nodes.Expr], bucket: ir.Value | None = None) -> ir.Value:
    info = p.checked.maps[name]
    spec = p.gen.map_spec(name)
    buf = p.alloca_buf(spec.key_size)
    kt = info.key_type
    if kt is None:
        p.store64(c64(0), buf)
        user_size = 8
    else:
        user_size = kt.size
        if info.multi_key and len(keys) == 1:  # @m[$tuple]: the tuple laid out as the key
            p.emit_into(keys[0], buf, kt, 0)
        elif info.multi_key:
            assert isinstance(kt, TupleT)
            for k, et, off in zip(keys, kt.elems, kt.offsets()):
                p.emit_into(k, buf, et, off)
        else:
            p.emit_into(keys[0], buf, kt, 0)
    if bucket is not None:
        p.store64(bucket, buf, user_size)
    return buf


def read_map(p: ProgEmitter, e: nodes.MapRef) -> Val:
    info = p.checked.maps[e.name]
    gv = p.gen.map_global(e.name)
    key = build_key(p, e.name, e.keys)
    ptr = p.maps.lookup(gv, key)
    vt = info.value_type
    t = p.checked.types.get(e) or vt
    b = p.b
    if p.checked.options.helper_errors:  # -k: a read of a missing element warns
        with b.if_then(p.is_null(ptr)):
            p.event(EventKind.HELPER_ERROR, [Val(IntT(64, True), c64(0))], "map_lookup_elem",
                    node=e)
    if isinstance(vt, AggT) or is_scalar(vt):
        slot = p.alloca_i64()
        b.store(c64(0), slot)
        with b.if_then(p.not_null(ptr)):
            if isinstance(vt, AggT) and vt.kind == "avg":
                total, count = p.load64(ptr, 0), p.load64(ptr, 8)
                safe = b.select(b.icmp_unsigned("==", count, c64(0)), c64(1), count)
                b.store(signed_div(p, total, safe, False) if vt.signed else b.udiv(total, safe), slot)
            else:
                b.store(p.load64(ptr, 0), slot)
        rt = t if is_scalar(t) else IntT(64, is_signed(vt))
        return Val(rt, b.load(slot))
    buf = p.alloca_buf(vt.size)
    p.zero(buf, vt.size)
    with b.if_then(p.not_null(ptr)):
        p.copy(buf, ptr, vt.size)
    return Val(vt, buf)


def assign_map(p: ProgEmitter, s: nodes.Assign) -> None:
    target = s.target
    assert isinstance(target, nodes.MapRef)
    vt = p.checked.maps[target.name].value_type
    gv = p.gen.map_global(target.name)
    if s.op is not None and is_scalar(vt):
        if s.op in ("+", "-") and isinstance(vt, IntT):
            delta = p.as_i64(p.expr(s.value))
            if s.op == "-":
                delta = p.b.neg(delta)
            key = build_key(p, target.name, target.keys)
            p.maps.atomic_add(gv, key, delta, delta)
            return
        cur = read_map(p, target)
        rhs = p.expr(s.value)
        new = arith(p, s.op, cur, rhs, is_signed(vt) and is_signed(rhs.t), s)
        key = build_key(p, target.name, target.keys)
        p.maps.update(gv, key, p.materialize(Val(vt, new), vt))
        return
    spec = p.gen.map_spec(target.name)
    value = p.alloca_buf(spec.value_size)
    p.emit_into(s.value, value, vt)
    key = build_key(p, target.name, target.keys)
    p.maps.update(gv, key, value)


def incdec(p: ProgEmitter, e: nodes.IncDec) -> Val:
    delta = c64(1 if e.op == "++" else -1)
    b = p.b
    if isinstance(e.target, nodes.Variable):
        t, slot = p.var_slot(e.target.name, e.target)
        old = b.load(slot)
        new = p.fit_int(Val(IntT(), b.add(old, delta)), t)
        b.store(new, slot)
        return Val(t, new if e.prefix else old)
    if isinstance(e.target, nodes.MapRef):
        info = p.checked.maps[e.target.name]
        vt: Type = info.value_type
        key = build_key(p, e.target.name, e.target.keys)
        old = p.maps.atomic_add(p.gen.map_global(e.target.name), key, delta, delta)
        return Val(vt if is_scalar(vt) else IntT(), b.add(old, delta) if e.prefix else old)
    raise CodegenError("++/-- needs a variable or a map", e)
