"""IR for map iteration: len(@m) and `for ($kv : @m)` (bpf_for_each_map_elem callbacks).

Each loop body becomes a static function `long cb(map, key, value, ctx)` in `.text`
(the loader links it after every program that uses it). `ctx` points to a struct on
the enclosing program's stack:

    [0]  the probe's context pointer (args, tracepoint fields inside the body)
    [8]  stop flag: exit() or return inside the body ends the whole probe
    [16+8i] the address of the i-th scratch variable shared with the enclosing code

Scratch variables used inside the body are shared with the enclosing probe through
those addresses (current bpftrace does the same). The kernel runs the callback in a
new frame, but frames add up against the 512-byte stack limit, so the callback's
stack is counted on top of the enclosing program's.

The ModuleGen calls in here (`emit_for_map`, `emit_map_len`) for the program emitters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from pytrace import nodes
from pytrace.codegen import helpers as h
from pytrace.codegen.base import I64, P8, P64, STACK_LIMIT, c64
from pytrace.codegen.emitter import ProgEmitter
from pytrace.codegen.errors import CodegenError, StackOverflow
from pytrace.codegen.operators import signed_div
from pytrace.codegen.values import is_scalar
from pytrace.passes.walk import children, probe_roots, walk
from pytrace.types import AggT, TupleT

if TYPE_CHECKING:
    from pytrace.codegen.module import ModuleGen

FOR_EACH_MAP_ELEM = 164
MAP_LOOKUP_PERCPU_ELEM = 195
CB_TYPE = ir.FunctionType(I64, [P8, P8, P8, P8])
CTX_PROBE, CTX_STOP, CTX_VARS = 0, 8, 16
LEN_CALLBACK = "pytrace_len_cb"
RESERVE = "_mapiter_frame"  # emitter attribute: the largest callback frame so far


def _reserve_frame(p: ProgEmitter, frame: int) -> None:
    """Frames add up: count the largest callback frame on top of the caller's own stack."""
    old = getattr(p, RESERVE, 0)
    if frame > old:
        p.stack_used += frame - old
        setattr(p, RESERVE, frame)
        if p.stack_used > STACK_LIMIT:
            raise StackOverflow(f"program needs more than {STACK_LIMIT} bytes of BPF stack "
                                "(a for loop body runs in a frame of its own on top)")


def _callback(module: ir.Module, name: str) -> ir.Function:
    fn = ir.Function(module, CB_TYPE, module.get_unique_name(name))
    fn.linkage = "internal"
    fn.section = ".text"
    fn.attributes.add("nounwind")
    return fn


def _for_each(p: ProgEmitter, map_name: str, fn: ir.Function, ctx: ir.Value) -> None:
    gv = p.gen.map_global(map_name)
    p.helper(FOR_EACH_MAP_ELEM, I64, [p.map_ptr(gv), p.b.bitcast(fn, P8), ctx, c64(0)])


# ------------------------------------------------------------------ len(@m)
def _len_callback(module: ir.Module) -> ir.Function:
    """One shared callback: *(u64 *)ctx += 1 per element."""
    existing = module.globals.get(LEN_CALLBACK)
    if isinstance(existing, ir.Function):
        return existing
    fn = _callback(module, LEN_CALLBACK)
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    counter = b.bitcast(fn.args[3], P64)
    b.store(b.add(b.load(counter, align=8), c64(1)), counter, align=8)
    b.ret(c64(0))
    return fn


def emit_map_len(p: ProgEmitter, map_name: str) -> ir.Value:
    """The number of elements of a map, counted by a shared callback."""
    counter = p.alloca_buf(8)
    p.store64(c64(0), counter)
    _for_each(p, map_name, _len_callback(p.module), counter)
    return p.load64(_launder(p, counter))


def _launder(p: ProgEmitter, src: ir.Value) -> ir.Value:
    """A copy of the 8 bytes at src made by bpf_probe_read_kernel.

    The verifier runs a callback until the states it sees repeat. A counter it knows
    exactly (and must know exactly because a branch depends on it) never repeats, so
    the program would be "too large". Values read back through a helper are unknown to
    it, and precision tracking stops there."""
    dst = p.alloca_buf(8)
    p.helper(h.PROBE_READ_KERNEL, I64, [dst, ir.Constant(ir.IntType(32), 8), src])
    return dst


# ------------------------------------------------------------------ for ($kv : @m)
def _var_name(n: nodes.Node) -> str | None:
    if isinstance(n, nodes.Variable | nodes.VarDecl):
        return n.name
    return n.var if isinstance(n, nodes.For) else None


def _names_outside(probe: nodes.Probe, s: nodes.For) -> set[str]:
    """Variables the probe names anywhere but inside the loop's body."""
    out: set[str] = set()
    stack: list[nodes.Node] = list(probe_roots(probe))
    while stack:
        n = stack.pop()
        name = _var_name(n)
        if name is not None:
            out.add(name)
        stack.extend(c for c in children(n) if c is not s.body)
    return out


def _body_variables(p: ProgEmitter, s: nodes.For) -> list[str]:
    """The variables the body shares with the enclosing code. One the body alone names
    (its own, scoped to it, e.g. a macro's locals) lives in the callback's frame, where
    it can stay in a register, rather than in an escaping slot of the caller."""
    outside = _names_outside(p.checked.probes[p.bi].probe, s)
    names: list[str] = []
    for n in walk(s.body):
        name = _var_name(n)
        if name is not None and name != s.var and name not in names and name in outside:
            names.append(name)
    return names


def _root(p: ProgEmitter) -> ProgEmitter:
    """The probe program a (possibly nested) loop callback is linked into."""
    while isinstance(p, CallbackEmitter):
        p = p.outer
    return p


class CallbackEmitter(ProgEmitter):
    """Emits one loop body as a bpf_for_each_map_elem callback."""

    def __init__(self, outer: ProgEmitter, name: str, shared: list[str]) -> None:
        gen: ModuleGen = outer.gen
        dummy = outer.module.get_unique_name(name + ".init")
        super().__init__(gen, outer.target, outer.bi, dummy, ".text")
        del self.module.globals[dummy]  # FnBase builds a one-argument function: replace it
        self.outer = outer
        self.fn = _callback(self.module, name)
        gen.note_callback(_root(outer).fn.name, self.fn)
        self.cb_map, self.cb_key, self.cb_value, self.cb_ctx = self.fn.args
        self.open_blocks()
        self.stack_used = self.start_stack = outer.stack_used - getattr(outer, RESERVE, 0)
        # the body's large buffers lie above everything the enclosing program has so far
        self.scratch_used = outer.scratch_used
        self.scratch_fail = 1  # no scratch memory: stop iterating
        self.on_stack_limit = outer.on_stack_limit
        a = self.alloca_builder
        self.ctx = a.inttoptr(a.load(a.bitcast(self.cb_ctx, P64), align=8), P8)
        self.write_back: list[tuple[ir.Value, ir.Value]] = []  # (local copy, outer slot)
        for i, var in enumerate(shared):
            t, _slot = outer.vars[var]
            addr = a.load(a.bitcast(a.gep(self.cb_ctx, [c64(CTX_VARS + 8 * i)]), P64), align=8)
            if not is_scalar(t):
                self.vars[var] = (t, a.inttoptr(addr, P8))
                continue
            local = self.alloca_buf(8, var, temp=False)
            a.call(a.inttoptr(c64(h.PROBE_READ_KERNEL), ir.PointerType(ir.FunctionType(
                I64, [P8, ir.IntType(32), P8]))), [local, ir.Constant(ir.IntType(32), 8),
                                                   a.inttoptr(addr, P8)])
            self.vars[var] = (t, a.bitcast(local, P64))
            self.write_back.append((local, a.inttoptr(addr, P8)))

    def stop_flag(self) -> ir.Value:
        return self.b.bitcast(self.at(self.cb_ctx, CTX_STOP), P64)

    def leave(self) -> None:
        """End the whole probe: flag it for the enclosing code and stop iterating."""
        self.b.store(c64(1), self.stop_flag(), align=8)
        self.b.ret(c64(1))


    def emit_loop(self, s: nodes.For, m: nodes.MapRef) -> None:
        b = self.b
        with b.if_then(b.icmp_unsigned("!=", b.load(self.stop_flag(), align=8), c64(0))):
            b.ret(c64(1))  # an earlier element ran exit()
        self.bind_pair(s, m)
        cont = self.fn.append_basic_block("cb.continue")
        brk = self.fn.append_basic_block("cb.break")
        self.loops.append((cont, brk))
        self.block(s.body)
        self.loops.pop()
        if not b.block.is_terminated:
            b.branch(cont)
        for bb, ret in ((cont, 0), (brk, 1)):
            self.b.position_at_end(bb)
            for local, outer_slot in self.write_back:
                self.store64(self.load64(local), outer_slot)
            self.b.ret(c64(ret))
        self.close_prologue()

    def bind_pair(self, s: nodes.For, m: nodes.MapRef) -> None:
        """$kv = (key, value) from the callback's key and value pointers."""
        t = self.checked.types.get(s)  # the loop variable is scoped to the loop
        if not isinstance(t, TupleT) or len(t.elems) != 2:
            raise CodegenError(f"internal: no tuple type for ${s.var}", s)
        buf = self.alloca_buf(t.size, s.var, temp=False)
        (kt, vt), (koff, voff) = t.elems, t.offsets()
        self.zero(buf, t.size)
        self.copy(buf, self.cb_key, kt.size, koff)
        stored = self.checked.maps[m.name].value_type
        if isinstance(stored, AggT):
            self.store64(fold_percpu(self, m.name, stored), buf, voff)
        else:
            self.copy(buf, self.cb_value, min(vt.size, max(8, stored.size)), voff)
        self.vars[s.var] = (t, buf)


def fold_percpu(p: ProgEmitter, map_name: str, agg: AggT) -> ir.Value:
    """count/sum/min/max/avg of the current element summed over every possible CPU."""
    assert isinstance(p, CallbackEmitter)
    b = p.b
    total, count, seen, cpu = (p.alloca_i64(n) for n in ("total", "count", "seen", "cpu"))
    for slot in (total, count, seen, cpu):
        b.store(c64(0), slot)
    gv = p.gen.map_global(map_name)
    cond_bb, body_bb, end_bb = (p.fn.append_basic_block(n) for n in ("cpu.cond", "cpu.body",
                                                                      "cpu.end"))
    b.branch(cond_bb)
    b.position_at_end(cond_bb)
    b.cbranch(b.icmp_unsigned("<", b.load(cpu), c64(p.gen.ncpus)), body_bb, end_bb)
    b.position_at_end(body_bb)
    v = p.helper(MAP_LOOKUP_PERCPU_ELEM, P8, [p.map_ptr(gv), p.cb_key,
                                              b.trunc(b.load(cpu), ir.IntType(32))])
    with b.if_then(p.not_null(v)):
        if agg.kind in ("min", "max"):
            x = p.load64(v, 0)
            op = ">" if agg.kind == "max" else "<"
            better = b.icmp_signed(op, x, b.load(total)) if agg.signed else \
                b.icmp_unsigned(op, x, b.load(total))
            is_set = b.icmp_unsigned("!=", p.load64(v, 8), c64(0))
            first = b.icmp_unsigned("==", b.load(seen), c64(0))
            with b.if_then(b.and_(is_set, b.or_(first, better))):
                b.store(x, total)
                b.store(c64(1), seen)
        else:
            b.store(b.add(b.load(total), p.load64(v, 0)), total)
            if agg.kind == "avg":
                b.store(b.add(b.load(count), p.load64(v, 8)), count)
    b.store(b.add(b.load(cpu), c64(1)), cpu)
    b.branch(cond_bb)
    b.position_at_end(end_bb)
    if agg.kind != "avg":
        return b.load(total)
    n = b.load(count)
    safe = b.select(b.icmp_unsigned("==", n, c64(0)), c64(1), n)
    return signed_div(p, b.load(total), safe, False) if agg.signed else b.udiv(b.load(total), safe)


def emit_for_map(p: ProgEmitter, s: nodes.For) -> None:
    m = s.iterable
    assert isinstance(m, nodes.MapRef)
    shared = _body_variables(p, s)
    for var in shared:
        t, _slot = p.var_slot(var, s)
        if is_scalar(t):
            p.stack_used += 8  # its address escapes: it stays on the stack
    ctx = p.alloca_buf(CTX_VARS + 8 * len(shared), temp=False, stack=True)  # helper wants stack
    probe_ctx = getattr(p, "ctx_copy", None) or p.ctx  # dispatchers read a stack copy
    p.store64(p.b.ptrtoint(probe_ctx, I64), ctx, CTX_PROBE)
    p.store64(c64(0), ctx, CTX_STOP)
    for i, var in enumerate(shared):
        p.store64(p.b.ptrtoint(p.vars[var][1], I64), ctx, CTX_VARS + 8 * i)
    cb = CallbackEmitter(p, f"{p.fn.name}_for", shared)
    cb.emit_loop(s, m)
    _reserve_frame(p, cb.stack_used - cb.start_stack)
    p.scratch_used = max(p.scratch_used, cb.scratch_used)  # never reused under the loop
    _for_each(p, m.name, cb.fn, ctx)
    stopped = p.b.icmp_unsigned("!=", p.load64(ctx, CTX_STOP), c64(0))
    with p.b.if_then(stopped):
        p.leave()  # exit() or return ran inside the body

