"""ProgEmitter: the IR of one probe program (one expanded attach point).

Expressions evaluate to `Val`s (codegen/values.py); statements emit into the current
block. Builtin identifiers and calls are lowered by their entries in the builtins
registry (pytrace/builtins), which use the methods of the "builtins' interface" section
below; map iteration (for loops, len) is built by the ModuleGen's mapiter module.
Codegen reads only the CheckedProgram: types, constants, formats, map infos.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from llvmlite import ir

from pytrace import builtins, nodes
from pytrace.codegen import fields, memory, strops
from pytrace.codegen import helpers as h
from pytrace.codegen.base import I8, I64, P8, FnBase, c64
from pytrace.codegen.errors import CodegenError
from pytrace.codegen.mapexpr import assign_map, build_key, incdec, read_map
from pytrace.codegen.maps import MapOps, hist_index_ir, lhist_index_ir
from pytrace.codegen.operators import arith, binary, unary
from pytrace.codegen.usdt import emit_usdt_arg
from pytrace.codegen.values import Val, is_scalar, is_signed
from pytrace.passes.walk import probe_roots, walk
from pytrace.probes.target import ProbeTarget
from pytrace.resources import (
    GLOBAL_EXITING,
    GLOBALS_MAP,
    LOST_MAP,
    RINGBUF_MAP,
    EventKind,
    SourceLoc,
)
from pytrace.types import AggT, ArrayT, BoolT, IntT, PtrT, RecordT, StrT, TupleT, Type, VoidT

if TYPE_CHECKING:
    from pytrace.codegen.module import ModuleGen

# Probe kinds that `-p PID` filters with a predicate (uprobes and usdt are attached to
# the process itself; interval and profile keep firing, as in bpftrace).
UNROLLED_COMPARE = 64  # longer strings are compared by a bpf_loop
PID_FILTERED_KINDS = frozenset({"tracepoint", "rawtracepoint", "kprobe", "kretprobe",
                                "fentry", "fexit", "software", "hardware"})


def _args_fields(probe: nodes.Probe) -> set[str]:
    """The names of the `args.NAME` fields a probe block reads."""
    return {n.field_name for root in probe_roots(probe) for n in walk(root)
            if isinstance(n, nodes.FieldAccess) and fields.is_args_field(n)}


def _layout(target: ProbeTarget, names: list[str]) -> tuple[object, ...]:
    """Where a tracepoint keeps the named fields (targets alike share compiled code)."""
    out: list[object] = []
    for name in names:
        f = target.field_named(name)
        out.append(None if f is None else (f.offset, f.size, f.signed, f.data_loc,
                                           f.array_len))
    return tuple(out)


def _always_exits(body: nodes.Block) -> bool:
    """Whether the block's own statements (not nested ones) include an exit() call."""
    return any(isinstance(st, nodes.ExprStmt) and isinstance(st.expr, nodes.Call)
               and st.expr.name == "exit" for st in body.stmts)


class ProgEmitter(FnBase):
    gen: ModuleGen
    target: ProbeTarget

    def __init__(self, gen: ModuleGen, target: ProbeTarget, block_index: int, fn_name: str, section: str) -> None:
        super().__init__(gen.module, fn_name, section)
        self.gen = gen
        self.checked = gen.checked
        self.target = target
        self.bi = block_index
        self.maps = MapOps(self)
        self.vars: dict[str, tuple[Type, ir.Value]] = {}
        self.loops: list[tuple[ir.Block, ir.Block]] = []  # (continue target, break target)
        self.probe_slot: ir.Value | None = None  # see probe_id()
        self.kfunc_entry: ir.Value | None = None  # kprobe_multi: the function's map entry
        self.scratch_key = block_index
        self.on_stack_limit = gen.checked.options.on_stack_limit  # the config variable
        self.discarded: nodes.Expr | None = None  # the expression statement being emitted

    def scratch_map(self) -> ir.GlobalVariable:
        return self.gen.scratch_global()

    # ------------------------------------------------------------ types
    def type_of(self, node: nodes.Node) -> Type:
        t = self.checked.types.get(node)
        if t is None:
            raise CodegenError(f"internal: no type for {type(node).__name__}", node)
        return t

    # ------------------------------------------------------------ values
    def as_i64(self, val: Val) -> ir.Value:
        if val.scalar:
            return val.v
        raise CodegenError(f"expected an integer, got {val.t}")

    def store_into(self, val: Val, dest: ir.Value, t: Type, off: int = 0) -> None:
        """Store val into dest+off laid out as type t (converting compatible layouts)."""
        if is_scalar(t):
            self.store64(self.as_i64(val), dest, off)
        elif isinstance(t, TupleT) and isinstance(val.t, TupleT) and val.t != t:
            for i, (et, eo) in enumerate(zip(t.elems, t.offsets())):
                self.store_into(self.tuple_elem(val, i), dest, et, off + eo)
        elif isinstance(t, RecordT) and isinstance(val.t, RecordT) and val.t != t:
            # one record type whatever order its fields were written in: by name
            for (name, ft), fo in zip(t.fields, t.offsets()):
                self.store_into(self.record_field(val, name), dest, ft, off + fo)
        elif val.scalar:
            self.store64(val.v, dest, off)
            if t.size > 8:
                self.zero(dest, t.size - 8, off + 8)
        else:
            n = min(val.t.size, t.size)
            self.copy(dest, val.v, n, off)
            if t.size > n:
                self.zero(dest, t.size - n, off + n)

    def emit_into(self, e: nodes.Expr | Val, dest: ir.Value, t: Type, off: int = 0,
                  zero: bool = True) -> None:
        """Evaluate e straight into memory when that saves a copy (str(), comm, string
        fields); a Val is stored as it is."""
        if isinstance(e, Val):
            self.store_into(e, dest, t, off)
            return
        if e not in self.checked.constants and self._emit_into_direct(e, dest, t, off, zero):
            return
        self.store_into(self.expr(e), dest, t, off)

    def _emit_into_direct(self, e: nodes.Expr, dest: ir.Value, t: Type, off: int,
                          zero: bool) -> bool:
        if isinstance(e, nodes.Identifier | nodes.Call):
            entry = builtins.lookup(e.name)
            if entry is not None and entry.emit_into is not None:
                return entry.emit_into(self, e, dest, t, off, zero)
            return False
        return fields.field_into_direct(self, e, dest, t, off, zero)

    def tuple_elem(self, val: Val, index: int) -> Val:
        assert isinstance(val.t, TupleT)
        et = val.t.elems[index]
        p = self.at(val.v, val.t.offsets()[index])
        if is_scalar(et):
            return Val(et, self.load64(p))
        return Val(et, p)

    def record_field(self, val: Val, name: str) -> Val:
        assert isinstance(val.t, RecordT)
        found = val.t.field(name)
        if found is None:
            raise CodegenError(f"internal: no field {name} in {val.t}")
        ft, fo = found
        p = self.at(val.v, fo)
        return Val(ft, self.load64(p)) if is_scalar(ft) else Val(ft, p)

    def materialize(self, val: Val, t: Type | None = None) -> ir.Value:
        """A buffer holding val laid out as t (default val.t)."""
        t = t or val.t
        buf = self.alloca_buf(max(8, t.size))
        self.store_into(val, buf, t)
        return buf

    def const_str(self, text: str, length: int | None = None) -> Val:
        data = text.encode() + b"\0"
        length = length or len(data)
        data = data[:length].ljust(((length + 7) // 8) * 8, b"\0")
        buf = self.alloca_buf(len(data))
        for off in range(0, len(data), 8):
            self.store64(c64(int.from_bytes(data[off:off + 8], "little")), buf, off)
        return Val(StrT(length), buf)

    # ------------------------------------------------------------ the builtins' interface
    def fail(self, message: str, node: nodes.Node | None = None) -> CodegenError:
        """An error naming the construct (raise it)."""
        return CodegenError(message, node)

    def leave(self) -> None:
        """End the probe program here (exit(), return)."""
        self.b.ret(c64(0))

    def format_of(self, call: nodes.Call) -> str:
        """The format string the passes resolved for printf/time/... (a literal or a
        #define'd name)."""
        fmt = self.checked.formats.get(call)
        if fmt is None:
            raise CodegenError(f"internal: no format for {call.name}()", call)
        return fmt

    def const_string(self, e: nodes.Expr) -> str:
        """The text of a string literal argument (or of a string constant)."""
        if isinstance(e, nodes.Str):
            return e.value
        value = self.checked.constants.get(e)
        if isinstance(value, str):
            return value
        raise CodegenError("expected a string literal", e)

    def const_int(self, e: nodes.Expr) -> int:
        """The value of an integer literal argument (or of an integer constant)."""
        if isinstance(e, nodes.Int):
            return e.value
        if isinstance(e, nodes.Unary) and e.op == "-":
            return -self.const_int(e.operand)
        value = self.checked.constants.get(e)
        if isinstance(value, int):
            return value
        # the type rules of the builtins that take a literal count check it first
        raise CodegenError("internal: expected an integer literal", e)

    def probe_name_index(self, name: str) -> int:
        return self.gen.probe_name_index(name)

    def probe_id(self) -> ir.Value:
        """The index of the current probe's name (`probe`): a constant, or a value set
        per syscall where one compiled body serves several tracepoints."""
        if self.probe_slot is not None:
            return self.b.load(self.probe_slot)
        return c64(self.probe_name_index(self.target.name))

    def global_slot(self, index: int) -> ir.Value:
        """The u64 userspace wrote into __globals[index] at start (0 if unreadable)."""
        slot = self.maps.array_slot(self.gen.map_global(GLOBALS_MAP), index)
        out = self.alloca_i64()
        self.b.store(c64(0), out)
        with self.b.if_then(self.not_null(slot)):
            self.b.store(self.load64(slot), out)
        return self.b.load(out)

    def set_global(self, index: int, value: ir.Value) -> None:
        slot = self.maps.array_slot(self.gen.map_global(GLOBALS_MAP), index)
        with self.b.if_then(self.not_null(slot)):
            self.store64(value, slot)

    def event(self, kind: str, args: Sequence[nodes.Expr | Val], fmt: str = "",
              map_name: str = "", node: nodes.Node | None = None,
              fill: Callable[[ir.Value], None] | None = None,
              types: Sequence[Type] | None = None) -> None:
        """Send one ring-buffer record (EventKind `kind`) holding `args`; a record that
        cannot be reserved is counted in __lost. The record's EventSpec names the probe
        being emitted; a body shared by several probes stores the probe's name index
        after the fields instead (EventSpec.probe_offset). `node` locates errorf and
        warnings; `fill` writes fields itself (join) into the record, laid out by
        `types`."""
        if types is None:
            types = [a.t if isinstance(a, Val) else self.type_of(a) for a in args]
        shared = self.probe_slot is not None
        loc = self.source_loc(node) if node is not None else None
        spec = self.gen.events.add(kind, types, fmt, map_name, self.target.name, shared, loc)
        args = self.scalar_prefix(args, types)
        rb = self.map_ptr(self.gen.map_global(RINGBUF_MAP))
        rec = self.helper(h.RINGBUF_RESERVE, P8, [rb, c64(spec.size), c64(0)])
        with self.b.if_else(self.not_null(rec)) as (ok, failed):
            with ok:
                self.store64(c64(spec.id), rec, 0)
                for a, f in zip(args, spec.args):
                    self.emit_into(a, rec, f.type, f.offset, zero=False)
                if fill is not None:
                    fill(rec)
                if spec.probe_offset:
                    self.store64(self.probe_id(), rec, spec.probe_offset)
                self.helper(h.RINGBUF_SUBMIT, I64, [rec, c64(0)])
            with failed:
                slot = self.maps.array_slot(self.gen.map_global(LOST_MAP), 0)
                with self.b.if_then(self.not_null(slot)):
                    self.store64(self.b.add(self.load64(slot), c64(1)), slot)

    def scalar_prefix(self, args: Sequence[nodes.Expr | Val],
                      types: Sequence[Type]) -> list[nodes.Expr | Val]:
        """args with the leading scalar expressions evaluated now, before the ring-buffer
        reserve (in order, so side effects keep their order): computed after it, in the
        branch where the record exists, every value they use is live across the reserve
        call and LLVM spills each one to the stack (70 variables summed in a printf
        overflowed the 512 bytes; bpftrace computes its arguments first too). Pinned,
        or LLVM sinks the computation back into the branch."""
        out: list[nodes.Expr | Val] = []
        for i, (a, t) in enumerate(zip(args, types)):
            if isinstance(a, Val) or not is_scalar(t):
                return out + list(args[i:])
            val = self.expr(a)
            out.append(Val(val.t, self.pinned(val.v)) if val.scalar else val)
        return out + list(args[len(out):])

    def source_loc(self, node: nodes.Node) -> SourceLoc:
        """The location userspace prints for a record sent by `node`."""
        sp = node.span
        src = self.checked.source
        text = src.line_text(sp.line) if sp.line > 0 else ""
        end = sp.end_col if sp.end_line == sp.line else len(text) + 1
        return SourceLoc(src.name, sp.line, sp.col, max(end, sp.col + 1), text)

    def map_key(self, name: str, keys: list[nodes.Expr], bucket: ir.Value | None = None) -> ir.Value:
        """The BPF key buffer of map `name` for `keys` (plus a hist bucket index)."""
        return build_key(self, name, keys, bucket)

    def map_len(self, name: str) -> ir.Value:
        """The i64 number of elements of map `name` (bpf_for_each_map_elem)."""
        return self.gen.emit_map_len(self, name)

    def hist_index(self, x: ir.Value, bits: int) -> ir.Value:
        return hist_index_ir(self, x, bits)

    def lhist_index(self, x: ir.Value, agg: AggT) -> ir.Value:
        return lhist_index_ir(self, x, agg)

    def probe_read(self, dest: ir.Value, size: int | ir.Value, src: ir.Value, string: bool,
                   user: bool, node: nodes.Node | None = None) -> ir.Value:
        """bpf_probe_read_{user,kernel}[_str]; with -k a failure is reported at node."""
        return fields.probe_read(self, dest, size, src, string, user, node)

    def check_helper(self, ret: ir.Value, helper: str, node: nodes.Node) -> None:
        """With -k: a helper that returned < 0 is reported (helper_error) at node."""
        if not self.checked.options.helper_errors:
            return
        with self.b.if_then(self.b.icmp_signed("<", ret, c64(0))):
            self.event(EventKind.HELPER_ERROR, [Val(IntT(64, True), ret)], helper, node=node)

    def runtime_error(self, message: str, node: nodes.Node) -> None:
        """A located runtime warning (divide by zero ...), unless --no-warnings."""
        if self.checked.options.warning_level > 0:
            self.event(EventKind.RUNTIME_ERROR, [], message, node=node)

    # string operations (codegen/strops.py)
    def strlen(self, buf: ir.Value, cap: int) -> ir.Value:
        return strops.strlen(self, buf, cap)

    def str_equal_bufs(self, a: ir.Value, la: int, b_: ir.Value, lb: int,
                       n: int | None = None) -> ir.Value:
        return strops.equal(self, a, la, b_, lb, n)

    def memcmp(self, a: ir.Value, b_: ir.Value, n: int) -> ir.Value:
        return strops.memcmp(self, a, b_, n)

    def str_concat(self, dest: ir.Value, size: int, a: ir.Value, la: int, b_: ir.Value,
                   lb: int) -> None:
        strops.concat(self, dest, size, a, la, b_, lb)

    def str_search(self, hay: ir.Value, hl: int, needle: ir.Value, nl: int) -> ir.Value:
        return strops.search(self, hay, hl, needle, nl)

    def string_operand(self, e: nodes.Expr) -> tuple[ir.Value, int]:
        """(buffer, capacity) of a string-like argument: a string, a char array, or a
        pointer (read as a string of max_strlen bytes)."""
        t = self.type_of(e)
        if isinstance(t, StrT):
            return self.expr(e).v, t.length
        val = self.expr(e)
        if isinstance(t, ArrayT):
            return val.v, t.size
        cap = self.checked.options.max_strlen
        buf = self.alloca_buf(cap)
        self.zero(buf, 8)
        ptr = self.b.inttoptr(self.as_i64(val), P8)
        self.probe_read(buf, cap, ptr, True, self.user_pointer(t), e)
        return buf, cap

    def user_pointer(self, t: Type) -> bool:
        return fields.user_pointer(self, t)

    def usdt_arg(self, n: int, node: nodes.Node) -> Val:
        return emit_usdt_arg(self, n, node)

    # ------------------------------------------------------------ expressions
    def expr(self, e: nodes.Expr) -> Val:
        method = getattr(self, "e_" + type(e).__name__, None)
        if method is None:  # an invariant: tests/codegen/test_lowering_coverage.py
            raise CodegenError(f"internal: no lowering for {type(e).__name__} expressions", e)
        return method(e)  # type: ignore[no-any-return]

    def e_Int(self, e: nodes.Int) -> Val:
        return Val(self.checked.types.get(e, IntT()), c64(e.value))

    def e_Str(self, e: nodes.Str) -> Val:
        return self.const_str(e.value)

    def e_PositionalParam(self, e: nodes.PositionalParam) -> Val:
        return self.resolved_constant(e)

    def e_PositionalCount(self, e: nodes.PositionalCount) -> Val:
        return self.resolved_constant(e)

    def constant(self, e: nodes.Expr) -> Val | None:
        """The value the passes computed for $N, $#, sizeof and #define names, if any."""
        value = self.checked.constants.get(e)
        if value is None:
            return None
        t = self.type_of(e)
        if isinstance(value, str):
            return self.const_str(value, t.length if isinstance(t, StrT) else None)
        return Val(t, c64(value))

    def resolved_constant(self, e: nodes.Expr) -> Val:
        """$N, $# and sizeof always have a value from the passes."""
        const = self.constant(e)
        if const is None:
            raise CodegenError(f"internal: {type(e).__name__} was not resolved", e)
        return const

    def e_Identifier(self, e: nodes.Identifier) -> Val:
        const = self.constant(e)
        if const is not None:
            return const
        return self._builtin(e)

    def e_Call(self, e: nodes.Call) -> Val:
        const = self.constant(e)  # str($N + k): resolved by the passes
        if const is not None:
            return const
        return self._builtin(e)

    def _builtin(self, e: nodes.Identifier | nodes.Call) -> Val:
        entry = builtins.lookup(e.name)
        if entry is None or entry.emit is None:  # the passes refuse these first
            raise CodegenError(f"{e.name} cannot be compiled", e)
        return entry.emit(self, e)

    def e_Variable(self, e: nodes.Variable) -> Val:
        t, slot = self.var_slot(e.name, e)
        if is_scalar(t):
            return Val(t, self.b.load(slot))
        return Val(t, slot)

    def var_slot(self, name: str, node: nodes.Node) -> tuple[Type, ir.Value]:
        if name not in self.vars:
            t = self.checked.variables.get((self.bi, name)) or self.checked.types.get(node)
            if t is None:
                raise CodegenError(f"internal: no type for ${name}", node)
            init = self.init_builder
            if is_scalar(t):
                slot = self.alloca_i64(name)
                init.store(c64(0), slot)
            else:
                slot = self.alloca_buf(t.size, name, temp=False)
                p64 = init.bitcast(slot, ir.PointerType(I64))
                for i in range(max(1, t.size // 8)):
                    init.store(c64(0), init.gep(p64, [ir.Constant(I64, i)]))
            self.vars[name] = (t, slot)
        return self.vars[name]

    def e_MapRef(self, e: nodes.MapRef) -> Val:
        return read_map(self, e)

    def e_Binary(self, e: nodes.Binary) -> Val:
        return binary(self, e)

    def e_Unary(self, e: nodes.Unary) -> Val:
        return unary(self, e)

    def e_IncDec(self, e: nodes.IncDec) -> Val:
        return incdec(self, e)

    def e_Ternary(self, e: nodes.Ternary) -> Val:
        t = self.type_of(e)
        cond = self.to_bool(self.as_i64(self.expr(e.cond)))
        if is_scalar(t):
            slot = self.alloca_i64()
            with self.b.if_else(cond) as (yes, no):
                with yes:
                    self.b.store(self.as_i64(self.expr(e.then)), slot)
                with no:
                    self.b.store(self.as_i64(self.expr(e.otherwise)), slot)
            return Val(t, self.b.load(slot))
        if isinstance(t, VoidT):
            with self.b.if_else(cond) as (yes, no):
                with yes:
                    self.expr(e.then)
                with no:
                    self.expr(e.otherwise)
            return Val(t, c64(0))
        buf = self.alloca_buf(t.size)
        with self.b.if_else(cond) as (yes, no):
            with yes:
                self.emit_into(e.then, buf, t)
            with no:
                self.emit_into(e.otherwise, buf, t)
        return Val(t, buf)

    def e_TupleExpr(self, e: nodes.TupleExpr) -> Val:
        t = self.type_of(e)
        assert isinstance(t, TupleT)
        buf = self.alloca_buf(t.size)
        for el, et, off in zip(e.elems, t.elems, t.offsets()):
            self.emit_into(el, buf, et, off)
        return Val(t, buf)

    def e_RecordExpr(self, e: nodes.RecordExpr) -> Val:
        """The fields are evaluated in the order written, into the record's own layout
        (a store into a variable or map of the unified type reorders them by name)."""
        t = self.type_of(e)
        assert isinstance(t, RecordT)
        buf = self.alloca_buf(t.size)
        for (_, el), (_, ft), off in zip(e.fields, t.fields, t.offsets()):
            self.emit_into(el, buf, ft, off)
        return Val(t, buf)

    def e_TupleIndex(self, e: nodes.TupleIndex) -> Val:
        base = self.expr(e.expr)
        if not isinstance(base.t, TupleT) or not 0 <= e.index < len(base.t.elems):
            raise CodegenError("tuple index out of range", e)
        return self.tuple_elem(base, e.index)

    def e_FieldAccess(self, e: nodes.FieldAccess) -> Val:
        const = self.constant(e)  # config.NAME
        if const is not None:
            return const
        if fields.is_args_field(e):
            return fields.emit_field(self, e)
        if isinstance(self.checked.types.get(e.expr), RecordT):
            return self.record_field(self.expr(e.expr), e.field_name)
        return memory.field(self, e)

    def e_Index(self, e: nodes.Index) -> Val:
        k = self.checked.tuple_indexes.get(e)
        if k is not None:
            return self.tuple_elem(self.expr(e.expr), k)
        return memory.index(self, e)

    def e_Cast(self, e: nodes.Cast) -> Val:
        call = self.checked.sized_casts.get(e)
        if call is not None:
            return self.expr(call)
        t = self.type_of(e)
        val = self.expr(e.expr)
        if isinstance(t, ArrayT) or isinstance(val.t, ArrayT):
            return memory.array_cast(self, e, val)
        if isinstance(t, BoolT) and val.scalar:
            return Val(t, self.b.zext(self.to_bool(val.v), I64))
        if isinstance(t, IntT) and val.scalar:
            v = val.v
            if t.bits < 64:
                narrow = self.b.trunc(v, ir.IntType(t.bits))
                v = self.b.sext(narrow, I64) if t.signed else self.b.zext(narrow, I64)
            return Val(t, v)
        if isinstance(t, PtrT) and type(val.t) is IntT and val.t.bits < 64:
            # an integer becomes an address zero-extended from its own width, as LLVM's
            # inttoptr does: `(uint8 *)-1` (an int8 literal) is 0xff
            return Val(t, self.b.and_(val.v, c64((1 << val.t.bits) - 1)))
        if is_scalar(t) and val.scalar:
            return Val(t, val.v)
        raise CodegenError(f"cannot cast {val.t} to {t}", e)

    def e_BlockExpr(self, e: nodes.BlockExpr) -> Val:
        """`{ stmts; value }`: the statements, then the value. The enclosing statement's
        temporaries stay alive; the block's own statements release theirs as usual."""
        outer, self._temps = self._temps, []
        for s in e.stmts:
            if self.b.block.is_terminated:
                break
            self.stmt(s)
            self.release_temps()
        if self.b.block.is_terminated:  # return/exit/break inside: the rest is dead code
            self.b.position_at_end(self.fn.append_basic_block("block.dead"))
        val = Val(VoidT(), c64(0)) if e.value is None else self.expr(e.value)
        self._temps = outer + self._temps
        return val

    def e_Sizeof(self, e: nodes.Sizeof) -> Val:
        return self.resolved_constant(e)  # the typecheck pass computed every sizeof

    def e_Typeinfo(self, e: nodes.Typeinfo) -> Val:
        return self.expr(self.checked.typeinfos[e])  # a record of literals

    def e_Offsetof(self, e: nodes.Offsetof) -> Val:
        return self.resolved_constant(e)

    # ------------------------------------------------------------ strings
    def _words_equal(self, buf: ir.Value, lit: bytes, masked: bool) -> ir.Value:
        """i1: the first len(lit) bytes of buf equal lit, compared 8 bytes at a time."""
        b = self.b
        result: ir.Value = ir.Constant(ir.IntType(1), 1)
        for off in range(0, len(lit), 8):
            chunk = lit[off:off + 8]
            word = self.load64(buf, off)
            if masked and len(chunk) < 8:
                word = b.and_(word, c64((1 << (8 * len(chunk))) - 1))
            want = int.from_bytes(chunk.ljust(8, b"\0"), "little")
            result = b.and_(result, b.icmp_unsigned("==", word, c64(want)))
        return result

    def _fast_str_equal(self, a: nodes.Expr, lit: bytes) -> ir.Value | None:
        """`str(p) == "lit"` and `comm == "lit"` without a byte loop: read exactly
        len(lit)+1 bytes (a shorter string differs at its NUL; a longer one at the
        literal's NUL) and compare whole words."""
        b = self.b
        if isinstance(a, nodes.Identifier) and a.name == "comm" and a not in self.checked.constants:
            if len(lit) > 16:
                return ir.Constant(ir.IntType(1), 0)
            task_comm = self.gen.task_comm_offset(self.target.prog_type)
            if task_comm is not None:  # read current->comm in place: no helper copy
                task = self.helper(h.GET_CURRENT_TASK_BTF, P8, [])
                return self._words_equal(self.at(task, task_comm), lit, masked=True)
            return self._words_equal(self._builtin(a).v, lit, masked=True)
        if isinstance(a, nodes.Call) and a.name == "str" and len(a.args) == 1:
            src_t = self.type_of(a.args[0])
            if isinstance(src_t, StrT) or len(lit) > 200:
                return None
            ptr = self.as_i64(self.expr(a.args[0]))
            buf = self.alloca_buf(len(lit))
            self.store64(c64(0), buf, (len(lit) - 1) // 8 * 8)  # bytes past the literal read as 0
            hid = h.PROBE_READ_USER if fields.user_pointer(self, src_t) else h.PROBE_READ_KERNEL
            self.helper(hid, I64, [buf, ir.Constant(ir.IntType(32), len(lit)), b.inttoptr(ptr, P8)])
            return self._words_equal(buf, lit, masked=False)
        return None

    def str_equal(self, a: nodes.Expr, b_: nodes.Expr) -> ir.Value:
        """i1: the strings are equal up to and including their first NUL."""
        if isinstance(a, nodes.Str):
            a, b_ = b_, a
        if isinstance(b_, nodes.Str):
            fast = self._fast_str_equal(a, b_.value.encode() + b"\0")
            if fast is not None:
                return fast
        left = self.expr(a)
        if not isinstance(b_, nodes.Str):
            right = self.expr(b_)
            la = left.t.length if isinstance(left.t, StrT) else left.t.size
            lb = right.t.length if isinstance(right.t, StrT) else right.t.size
            if min(la, lb) > UNROLLED_COMPARE:  # a bpf_loop, not thousands of branches
                return strops.equal(self, left.v, la, right.v, lb)
        b = self.b
        result = self.alloca_i64()
        b.store(c64(0), result)
        done = self.fn.append_basic_block("streq.done")
        equal = self.fn.append_basic_block("streq.eq")
        if isinstance(b_, nodes.Str):
            lit = b_.value.encode() + b"\0"
            n = min(len(lit), left.t.size if not isinstance(left.t, StrT) else left.t.length)
            if n < len(lit):  # the buffer cannot hold the literal: compare a truncated view
                lit = lit[:n]
            for i, ch in enumerate(lit):
                c = self.load_byte_kept(left.v, i)
                nxt = self.fn.append_basic_block("streq.next")
                b.cbranch(b.icmp_unsigned("!=", c, ir.Constant(I8, ch)), done, nxt if ch else equal)
                b.position_at_end(nxt)
                if ch == 0:
                    b.branch(equal)
                    break
            if not b.block.is_terminated:
                b.branch(equal)
        else:
            for i in range(min(la, lb)):
                ca = self.load_byte_kept(left.v, i)
                cb = self.load_byte_kept(right.v, i)
                same = self.fn.append_basic_block("streq.same")
                b.cbranch(b.icmp_unsigned("!=", ca, cb), done, same)
                b.position_at_end(same)
                nxt = self.fn.append_basic_block("streq.next")
                b.cbranch(b.icmp_unsigned("==", ca, ir.Constant(I8, 0)), equal, nxt)
                b.position_at_end(nxt)
            b.branch(equal)
        b.position_at_end(equal)
        b.store(c64(1), result)
        b.branch(done)
        b.position_at_end(done)
        return b.icmp_unsigned("!=", b.load(result), c64(0))

    # ------------------------------------------------------------ statements
    def block(self, blk: nodes.Block) -> None:
        for s in blk.stmts:
            if self.b.block.is_terminated:
                return
            self.stmt(s)
            self.release_temps()

    def stmt(self, s: nodes.Stmt) -> None:
        method = getattr(self, "s_" + type(s).__name__, None)
        if method is None:  # an invariant: tests/codegen/test_lowering_coverage.py
            raise CodegenError(f"internal: no lowering for {type(s).__name__} statements", s)
        method(s)

    def s_ExprStmt(self, s: nodes.ExprStmt) -> None:
        # its value is not used (delete() then warns when it fails); `_ = e` uses it
        self.discarded = None if getattr(s, "discard", False) else s.expr
        self.expr(s.expr)
        self.discarded = None

    def s_Assign(self, s: nodes.Assign) -> None:
        if isinstance(s.target, nodes.MapRef):
            agg = self.checked.maps[s.target.name].value_type
            entry = builtins.lookup(s.value.name) if isinstance(s.value, nodes.Call) else None
            if entry is not None and entry.update is not None and isinstance(agg, AggT):
                assert isinstance(s.value, nodes.Call)
                entry.update(self, s.target, s.value, agg)
            else:
                assign_map(self, s)
            return
        if not isinstance(s.target, nodes.Variable):
            raise CodegenError("can only assign to variables and maps", s)
        t, slot = self.var_slot(s.target.name, s.target)
        if s.op is not None:
            cur = Val(t, self.b.load(slot))
            rhs = self.expr(s.value)
            new = arith(self, s.op, cur, rhs, is_signed(t) and is_signed(rhs.t), s)
            self.b.store(self.fit_int(Val(IntT(), new), t), slot)
        elif is_scalar(t):
            self.b.store(self.fit_int(self.expr(s.value), t), slot)
        else:
            self.emit_into(s.value, slot, t)

    def fit_int(self, val: Val, t: Type) -> ir.Value:
        """An integer value as a variable of type t holds it (`let $x: uint8`: the value
        truncated to 8 bits, then zero- or sign-extended)."""
        v = self.as_i64(val)
        if isinstance(t, IntT) and t.bits < 64 and val.t != t:
            narrow = self.b.trunc(v, ir.IntType(t.bits))
            v = self.b.sext(narrow, I64) if t.signed else self.b.zext(narrow, I64)
        return v

    def s_VarDecl(self, s: nodes.VarDecl) -> None:
        if s.value is None and (self.bi, s.name) not in self.checked.variables:
            return  # `let $x;` never assigned: its reads make the (zeroed) slot
        var = nodes.Variable(s.name, span=s.span)
        t, slot = self.var_slot(s.name, var)
        if s.value is not None:
            self.s_Assign(nodes.Assign(var, s.value, span=s.span))

    def s_If(self, s: nodes.If) -> None:
        if s.comptime:  # the typecheck pass left only the branch taken
            self.block(s.then)
            return
        cond = self.to_bool(self.as_i64(self.expr(s.cond)))
        if s.otherwise is None:
            with self.b.if_then(cond):
                self.block(s.then)
        else:
            with self.b.if_else(cond) as (yes, no):
                with yes:
                    self.block(s.then)
                with no:
                    self.block(s.otherwise)

    def s_Unroll(self, s: nodes.Unroll) -> None:
        count = s.count.value if isinstance(s.count, nodes.Int) else 0
        for _ in range(max(0, min(count, 100))):
            self.block(s.body)

    def s_While(self, s: nodes.While) -> None:
        cond_bb = self.fn.append_basic_block("while.cond")
        body_bb = self.fn.append_basic_block("while.body")
        end_bb = self.fn.append_basic_block("while.end")
        self.b.branch(cond_bb)
        self.b.position_at_end(cond_bb)
        self.b.cbranch(self.to_bool(self.as_i64(self.expr(s.cond))), body_bb, end_bb)
        self._loop_body(s.body, body_bb, cond_bb, end_bb)
        self.b.position_at_end(end_bb)

    def _loop_body(self, body: nodes.Block, at: ir.Block, cont: ir.Block, brk: ir.Block) -> None:
        """Emit a loop body at `at`; continue jumps to `cont` (also its fall-through), break to `brk`."""
        self.b.position_at_end(at)
        self.loops.append((cont, brk))
        self.block(body)
        self.loops.pop()
        if not self.b.block.is_terminated:
            self.b.branch(cont)

    def s_Break(self, s: nodes.Break) -> None:
        if not self.loops:
            raise CodegenError("break outside of a loop", s)
        self.b.branch(self.loops[-1][1])

    def s_Continue(self, s: nodes.Continue) -> None:
        if not self.loops:
            raise CodegenError("continue outside of a loop", s)
        self.b.branch(self.loops[-1][0])

    def s_Return(self, s: nodes.Return) -> None:
        """Leave the probe; a test probe's value is its result (non-zero: failed)."""
        if s.value is not None and self.target.kind == "test":
            self.b.ret(self.as_i64(self.expr(s.value)))
            return
        if s.value is not None:
            self.expr(s.value)
        self.leave()

    def s_For(self, s: nodes.For) -> None:
        if not isinstance(s.iterable, nodes.Range):
            self.gen.emit_for_map(self, s)
            return
        t, slot = self.var_slot(s.var, s)
        start = self.as_i64(self.expr(s.iterable.start))
        end = self.as_i64(self.expr(s.iterable.end))
        self.b.store(start, slot)
        cond_bb = self.fn.append_basic_block("for.cond")
        body_bb = self.fn.append_basic_block("for.body")
        step_bb = self.fn.append_basic_block("for.step")
        end_bb = self.fn.append_basic_block("for.end")
        self.b.branch(cond_bb)
        self.b.position_at_end(cond_bb)
        self.b.cbranch(self.b.icmp_signed("<", self.b.load(slot), end), body_bb, end_bb)
        self._loop_body(s.body, body_bb, step_bb, end_bb)
        self.b.position_at_end(step_bb)
        self.b.store(self.b.add(self.b.load(slot), c64(1)), slot)
        self.b.branch(cond_bb)
        self.b.position_at_end(end_bb)

    # ------------------------------------------------------------ the program
    def emit_body(self, probe: nodes.Probe) -> None:
        """The exit() check, the -p filter, the predicate and the statements (without the
        final return)."""
        if self.gen.uses_exit and self.target.kind != "END":
            # after exit() no probe of the program does anything (END still runs)
            exiting = self.global_slot(GLOBAL_EXITING)
            with self.b.if_then(self.b.icmp_unsigned("!=", exiting, c64(0))):
                self.b.ret(c64(0))
        pid = self.checked.options.pid
        if pid is not None and self.target.kind in PID_FILTERED_KINDS:
            tgid = self.b.lshr(self.helper(h.GET_CURRENT_PID_TGID, I64, []), c64(32))
            with self.b.if_then(self.b.icmp_unsigned("!=", tgid, c64(pid))):
                self.b.ret(c64(0))
        if probe.predicate is not None:
            cond = self.to_bool(self.as_i64(self.expr(probe.predicate)))
            with self.b.if_then(self.b.not_(cond)):
                self.b.ret(c64(0))
        if self.target.kind != "END" and _always_exits(probe.body):
            self._claim_exit()
        self.block(probe.body)

    def _claim_exit(self) -> None:
        """A body that always ends in exit() runs at most once, whatever the CPUs do:
        the first run swaps the exiting flag to 1; any concurrent run sees it set."""
        slot = self.maps.array_slot(self.gen.map_global(GLOBALS_MAP), GLOBAL_EXITING)
        with self.b.if_then(self.is_null(slot)):
            self.b.ret(c64(0))
        flag = self.b.bitcast(self.at(slot, 0), ir.PointerType(I64))
        old = self.b.atomic_rmw("xchg", flag, c64(1), "seq_cst")
        with self.b.if_then(self.b.icmp_unsigned("!=", old, c64(0))):
            self.b.ret(c64(0))

    def emit_probe(self, probe: nodes.Probe) -> None:
        if self.target.kind == "iter":  # the final call, with no object: nothing to do
            obj = self.load64(self.ctx, int(self.target.attach.get("guard", 8)))
            with self.b.if_then(self.b.icmp_unsigned("==", obj, c64(0))):
                self.b.ret(c64(0))
        self.emit_body(probe)
        self.finish()

    def emit_dispatch(self, probe: nodes.Probe, cases: list[tuple[int, ProbeTarget]]) -> None:
        """One program on raw_syscalls for many syscall tracepoints: switch on the syscall
        number (same record layout: nr at 8, arguments or ret from 16). Attaching and
        detaching once instead of per tracepoint avoids one RCU grace period per probe.

        The body is compiled once per distinct layout of the `args` fields it reads (one
        body for all cases when it reads none): each case only stores its probe's name
        index, which `probe` reads, and jumps to its layout's body."""
        # Copy the record (nr at 8, six arguments or ret from 16) to the stack once: the
        # loads then never go through a ctx pointer LLVM has offset (the verifier refuses
        # "dereference of modified ctx ptr").
        size = 64 if str(cases[0][1].attach.get("event", "")).startswith("sys_enter_") else 24
        copy = self.alloca_buf(size, "record", temp=False)
        for off in range(8, size, 8):
            self.store64(self.load64(self.ctx, off), copy, off)
        self.ctx_copy = copy
        nr = self.load_sized(self.ctx, 8, 8, True)
        default = self.fn.append_basic_block("dispatch.none")
        switch = self.b.switch(nr, default)
        used = sorted(_args_fields(probe))
        layouts: dict[tuple[object, ...], list[tuple[int, ProbeTarget]]] = {}
        for number, target in cases:
            layouts.setdefault(_layout(target, used), []).append((number, target))
        slot = self.alloca_i64("probe.id")
        for members in layouts.values():
            body = self.fn.append_basic_block("dispatch.body")
            for number, target in members:
                bb = self.fn.append_basic_block(f"nr{number}")
                switch.add_case(c64(number), bb)
                self.b.position_at_end(bb)
                self.b.store(c64(self.probe_name_index(target.name)), slot)
                self.b.branch(body)
            self.b.position_at_end(body)
            self.target = members[0][1]
            self.probe_slot = slot if len(members) > 1 else None
            self.emit_body(probe)
            if not self.b.block.is_terminated:
                self.b.ret(c64(0))
        self.probe_slot = None
        self.b.position_at_end(default)
        self.finish()

__all__ = ["CodegenError", "ProgEmitter"]
