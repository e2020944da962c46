"""Pass 4: type inference of every expression, scratch variables and statements.

Map value types are needed before their uses are seen (a map may be read in an earlier
block than it is assigned in), so blocks are first typed silently until the map table
stops changing, then typed once more recording diagnostics.
"""

from __future__ import annotations

from collections.abc import Sequence

from pytrace import builtins, nodes
from pytrace.builtins.base import is_int, type_word
from pytrace.diagnostics import Diagnostics
from pytrace.nodes import display_var
from pytrace.passes.compiletime import const_value
from pytrace.passes.context import CheckedProgram
from pytrace.passes.maps import sign_mismatch
from pytrace.passes.typeexpr import READABLE_AGGS, UNSET, ExprTyper, MapTable, is_literal
from pytrace.passes.typenames import decl_type
from pytrace.passes.walk import probe_roots, walk
from pytrace.probes.target import ProbeTarget
from pytrace.types import (
    AggT,
    IntT,
    PtrT,
    StrT,
    TupleT,
    Type,
    VoidT,
    merge_ints,
    unify,
    unify_values,
)

I64 = IntT(64, True)
MAX_UNROLL = 100
MAX_ROUNDS = 4


def merge_scalar(old: Type, new: Type, literal: int | None = None) -> tuple[Type | None, bool]:
    """The type a variable holding `old` has after also storing `new` (None: conflict;
    `literal`: the stored value when it is an integer literal), and whether two integer
    types of different signs had no common type (then it is int64)."""
    if isinstance(old, IntT) and isinstance(new, IntT):
        return merge_ints(old, new, literal)
    if isinstance(old, PtrT) and isinstance(new, PtrT) and old.pointee == new.pointee:
        return old, False  # the same pointer type, perhaps marked with another address space
    if isinstance(old, IntT | PtrT) and isinstance(new, IntT | PtrT):
        return (old if old == new else unify(old, new) or IntT(64, False)), False
    return unify_values(old, new), False


def widened(old: IntT, op: str, rhs: Type | None) -> IntT:
    """The type of an integer variable or map after `op=` / `++` / `--`: the arithmetic is
    64-bit, so a narrower type (one a literal gave it) widens to 64 bits; signed when it
    was, when subtracting, or when the right side is signed."""
    if old.bits == 64:
        return old
    signed = old.signed or op == "-" or isinstance(rhs, IntT) and rhs.signed
    return IntT(64, signed)


class BlockTyper(ExprTyper):
    """Types the statements of one probe block."""

    def __init__(self, cp: CheckedProgram, block: int, targets: Sequence[ProbeTarget],
                 maps: MapTable, diags: Diagnostics,
                 hints: dict[tuple[int, str], Type] | None = None) -> None:
        super().__init__(cp, block, targets, maps, diags)
        self.loops = 0
        self.fixed: dict[str, Type] = {}  # `let $x: T`: the variable keeps type T
        self.hints = hints or {}  # the variable types of the previous typing round
        self.comptime_depth = 0  # inside the taken branch of an `if comptime`

    def probe(self, probe: nodes.Probe) -> None:
        if probe.predicate is not None:
            self.condition(probe.predicate, "predicate")
        self.stmts(probe.body)

    def stmts(self, block: nodes.Block) -> None:
        for s in block.stmts:
            self.stmt(s)

    def stmt(self, s: nodes.Stmt) -> None:
        method = getattr(self, "s_" + type(s).__name__, None)
        if method is None:
            self.diags.error(f"{type(s).__name__} statements are not supported", s.span)
        else:
            method(s)

    def condition(self, e: nodes.Expr, what: str) -> None:
        t = self.value(e)
        if t is not None and not is_int(t):
            self.diags.error(f"Invalid type for {what}: '{t}' (an integer is needed)", e.span)

    # ------------------------------------------------------------- statements
    def s_ExprStmt(self, s: nodes.ExprStmt) -> None:
        if isinstance(s.expr, nodes.Call):
            entry = builtins.function(s.expr.name)
            if entry is not None and entry.aggregation:
                self.diags.error(f"{s.expr.name}() should be directly assigned to a map",
                                 s.expr.span)
                return
        t = self.expr(s.expr)
        final = _final_value(s.expr)
        entry = builtins.function(final.name) if isinstance(final, nodes.Call) else None
        if t is not None and not s.discard and not isinstance(t, VoidT) \
                and not isinstance(final, nodes.IncDec) \
                and not (entry is not None and entry.discardable):
            self.diags.warning("Return value discarded.", s.expr.span,
                               "assign it to _ to discard it on purpose: _ = ...;")

    def e_BlockExpr(self, e: nodes.BlockExpr) -> Type | None:
        for s in e.stmts:
            self.stmt(s)
        if e.value is None:
            return VoidT()
        if self.aggregation(e.value):
            return self.value(e.value)  # the aggregation error
        return self.expr(e.value)

    def s_Assign(self, s: nodes.Assign) -> None:
        if isinstance(s.target, nodes.MapRef):
            self.assign_map(s, s.target)
        elif isinstance(s.target, nodes.Variable):
            self.assign_var(s, s.target)
        else:
            self.diags.error("Can only assign to a scratch variable or a map", s.target.span)

    def aggregation(self, e: nodes.Expr) -> bool:
        if not isinstance(e, nodes.Call):
            return False
        entry = builtins.function(e.name)
        return entry is not None and entry.aggregation

    def assign_map(self, s: nodes.Assign, target: nodes.MapRef) -> None:
        key = self.map_keys(target)
        existing = self.maps.values.get(target.name)
        t: Type | None
        if s.op is None and self.aggregation(s.value):
            t = self.expr(s.value)
        else:
            t = self.value(s.value)
            if t is not None and s.op is not None:
                t = self.compound(s, existing, t)
        if t is None:
            return
        if isinstance(t, VoidT):
            self.diags.error(f"Value '{t}' cannot be assigned to a map", s.value.span)
            return
        self.record(target, t)
        literal = self.const_int(s.value) if s.op is None and is_literal(s.value) else None
        self.maps.assign(target.name, t, key, literal)

    def compound(self, s: nodes.Assign, existing: Type | None, t: Type) -> Type | None:
        if isinstance(existing, AggT):
            self.diags.error(f"The {s.op}= operator can not be used on expressions of type "
                             f"'{existing}'", s.span)
            return None
        if not is_int(t) or (existing is not None and not is_int(existing)):
            self.diags.error(f"Type mismatch for '{s.op}=': comparing "
                             f"'{existing or I64}' with '{t}'", s.span)
            return None
        return widened(existing, s.op or "", t) if isinstance(existing, IntT) else I64

    def assign_var(self, s: nodes.Assign, target: nodes.Variable) -> None:
        t = self.value(s.value)
        if t is None:
            return
        key = (self.block, target.name)
        old = self.cp.variables.get(key) or self.declared_type(target.name)
        if s.op is not None:
            if old is None:
                self.diags.error("Undefined or undeclared variable: "
                                 f"${display_var(target.name)}", target.span)
                return
            if not (is_int(old) and is_int(t)):
                self.diags.error(f"Type mismatch for '{s.op}=': comparing '{old}' with '{t}'",
                                 s.span)
                return
            t = widened(old, s.op, t) if isinstance(old, IntT) and \
                target.name not in self.fixed else old
        elif target.name in self.fixed:
            t = self.fit_declared(target.name, s.value, t) or self.fixed[target.name]
        if isinstance(t, IntT):
            space = self.int_space(s.value)
            if space is not None:
                self.int_spaces[key] = space
        literal = self.const_int(s.value) if s.op is None and is_literal(s.value) else None
        self.store_var(target.name, target, t, literal)

    def assign_out(self, var: nodes.Variable, t: Type) -> None:
        """A variable a call writes (find's result) is assigned the map's value type."""
        if var.name in self.fixed:
            t = self.fit_declared(var.name, var, t) or self.fixed[var.name]
        self.store_var(var.name, var, t)

    def declared_type(self, name: str) -> Type | None:
        """The type of a `let $x;` variable read or updated before any assignment: what
        its assignments make it (from the previous round), else uint8 (it starts as 0)."""
        if name not in self.declared:
            return None
        return self.hints.get((self.block, name), UNSET)

    def fit_declared(self, name: str, e: nodes.Expr, t: Type) -> Type | None:
        """A value stored into a variable declared `let $x: T`: T, or None (an error)."""
        want = self.fixed[name]
        shown = display_var(name)
        if is_int(want) and is_int(t):
            lit = self.const_int(e)
            if isinstance(want, IntT) and lit is not None and not _fits(lit, want):
                self.diags.error(f"Type mismatch for ${shown}: the integer literal {lit} does "
                                 f"not fit in '{want}'", e.span,
                                 f"cast it explicitly, e.g. ({want}){lit}")
                return None
            if isinstance(want, IntT) and isinstance(t, IntT) and lit is None and \
                    t.signed and not want.signed:
                self.diags.warning(f"Implicit conversion of a signed value to '{want}' for "
                                   f"${shown}", e.span)
            return want
        if isinstance(want, StrT) and isinstance(t, StrT):
            return want
        self.diags.error(f"Type mismatch for ${shown}: trying to assign value of type '{t}' "
                         f"when variable is declared as '{want}'", e.span)
        return None

    def store_var(self, name: str, node: nodes.Node, t: Type,
                  literal: int | None = None) -> None:
        key = (self.block, name)
        old = self.cp.variables.get(key)
        if isinstance(t, AggT | VoidT):
            self.diags.error(f"Value '{t}' cannot be assigned to a scratch variable",
                             node.span)
            return
        merged, lossy = (t, False) if old is None or name in self.fixed else \
            merge_scalar(old, t, literal)
        if lossy and old is not None:
            sign_mismatch(self.diags, f"${display_var(name)}", old, t, node.span)
        if merged is None:
            self.diags.error(f"Type mismatch for ${display_var(name)}: trying to assign value of type "
                             f"'{t}' when variable already contains a value of type '{old}'",
                             node.span)
            return
        locked = self.locked.get(key)
        if self.comptime_depth and locked is not None and merged != locked:
            self.diags.error(f"Type of ${display_var(name)} is locked to '{locked}' (it was "
                             f"read by typeinfo, typeof, sizeof or offsetof): this comptime "
                             f"branch cannot make it '{merged}'", node.span)
            return
        self.cp.variables[key] = merged
        self.record(node, merged)

    def s_VarDecl(self, s: nodes.VarDecl) -> None:
        """`let $x;` (typed by its assignments, 0 until then), `let $x = e;`, and
        `let $x: T [= e];` (the variable keeps type T; values are converted to it)."""
        self.declared.add(s.name)
        value = self.value(s.value) if s.value is not None else None
        if s.type_name is None:
            if value is not None:
                self.store_var(s.name, s, value)
            return
        of = None
        if s.type_name.of is not None:
            of = self.type_or_expr(s.type_name.of.target)
            if of is None:
                return
        declared = decl_type(s.type_name, value, self.diags, self.cp.type_table, of)
        if declared is None:
            return
        self.fixed[s.name] = declared
        if s.value is not None and value is not None:
            if self.fit_declared(s.name, s.value, value) is None:
                return
        self.store_var(s.name, s, declared)

    def s_If(self, s: nodes.If) -> None:
        if s.comptime:
            self.comptime_if(s)
            return
        self.condition(s.cond, "if condition")
        self.stmts(s.then)
        if s.otherwise is not None:
            self.stmts(s.otherwise)

    def comptime_if(self, s: nodes.If) -> None:
        """`if comptime (c)`: c is evaluated now; only the branch it picks is typed."""
        self.condition(s.cond, "if comptime condition")
        value = const_value(self.cp, s.cond)
        if not isinstance(value, int):
            self.diags.error("if comptime condition cannot be evaluated when the program is "
                             "compiled (use constants, sizeof, typeinfo and comparisons of "
                             "them)", s.cond.span)
            return
        self.cp.comptime[s] = bool(value)
        taken = s.then if value else s.otherwise
        if taken is not None:
            self.comptime_depth += 1
            self.stmts(taken)
            self.comptime_depth -= 1

    def s_Unroll(self, s: nodes.Unroll) -> None:
        n = self.const_int(s.count)
        if n is None:
            self.diags.error("unroll() needs an integer literal count", s.count.span)
        elif not 1 <= n <= MAX_UNROLL:
            self.diags.error(f"unroll() count must be between 1 and {MAX_UNROLL} "
                             f"({n} provided)", s.count.span)
        else:
            self.record(s.count, I64)
        self.stmts(s.body)

    def s_While(self, s: nodes.While) -> None:
        self.condition(s.cond, "while condition")
        self.loop(s.body)

    def loop(self, body: nodes.Block) -> None:
        self.loops += 1
        self.stmts(body)
        self.loops -= 1

    def s_For(self, s: nodes.For) -> None:
        it = s.iterable
        if isinstance(it, nodes.Range):
            a, b = self.value(it.start), self.value(it.end)
            if a is not None and b is not None and not (is_int(a) and is_int(b)):
                self.diags.error(f"for loop range bounds must be integers ('{a}'..'{b}')",
                                 it.span)
            self.store_var(s.var, s, I64)
        else:  # the (key, value) variable exists only inside the loop, as in bpftrace
            key = (self.block, s.var)
            outside = self.cp.variables.pop(key, None)
            t = self.for_map(it)
            if t is not None:
                self.store_var(s.var, s, t)
            self.loop(s.body)
            if outside is not None:  # a $kv of the enclosing code keeps its own type
                self.cp.variables[key] = outside
            return
        self.loop(s.body)

    def for_map(self, m: nodes.MapRef) -> Type | None:
        if m.keys:
            self.diags.error("for loops iterate over a whole map, without a key", m.span)
            return None
        value = self.whole_map(m, "for")
        key = self.maps.keys.get(m.name)
        if value is None:
            return None
        if key is None:
            self.diags.error(f"for loops need a keyed map ({m.name} has no key)", m.span)
            return None
        if isinstance(value, AggT):
            if value.kind not in READABLE_AGGS:
                self.diags.error(f"for loops can not read {type_word(value)} maps", m.span)
                return None
            value = IntT(64, value.signed)
        return TupleT((key, value))

    def s_Break(self, s: nodes.Break) -> None:
        if not self.loops:
            self.diags.error("'break' statement is not allowed outside of a loop", s.span)

    def s_Continue(self, s: nodes.Continue) -> None:
        if not self.loops:
            self.diags.error("'continue' statement is not allowed outside of a loop", s.span)

    def s_Return(self, s: nodes.Return) -> None:
        if s.value is not None:
            self.value(s.value)

    # ------------------------------------------------------------ expressions
    def e_IncDec(self, e: nodes.IncDec) -> Type | None:
        target = e.target
        if isinstance(target, nodes.Variable):
            t = self.cp.variables.get((self.block, target.name)) or \
                self.declared_type(target.name)
            if t is None:
                self.diags.error("Undefined or undeclared variable: "
                                 f"${display_var(target.name)}", target.span)
                return None
            if not is_int(t):
                self.diags.error(f"The {e.op} operator can not be used on expressions of "
                                 f"type '{t}'", e.span)
                return None
            if isinstance(t, IntT) and target.name not in self.fixed:
                t = widened(t, "-" if e.op == "--" else "+", None)
                if (self.block, target.name) in self.cp.variables:
                    self.cp.variables[(self.block, target.name)] = t
            self.record(target, t)
            return t
        if isinstance(target, nodes.MapRef):
            key = self.map_keys(target)
            existing = self.maps.values.get(target.name)
            if existing is not None and not isinstance(existing, IntT):
                self.diags.error(f"The {e.op} operator can not be used on expressions of "
                                 f"type '{existing}'", e.span)
                return None
            t = I64 if existing is None else widened(existing, "-", None)
            self.record(target, t)
            self.maps.assign(target.name, t, key)
            return t
        self.diags.error(f"The {e.op} operator needs a variable or a map", e.span)
        return None


def type_program(cp: CheckedProgram, maps: MapTable, diags: Diagnostics) -> None:
    hints = dict(cp.variables)
    cp.types.clear()
    cp.variables.clear()
    for bi, checked in enumerate(cp.probes):
        BlockTyper(cp, bi, checked.targets, maps, diags, hints).probe(checked.probe)


def _final_value(e: nodes.Expr) -> nodes.Expr:
    """The expression that gives a (nested) block expression its value."""
    while isinstance(e, nodes.BlockExpr) and e.value is not None:
        e = e.value
    return e


def _fits(value: int, t: IntT) -> bool:
    lo, hi = (-(1 << (t.bits - 1)), (1 << (t.bits - 1)) - 1) if t.signed else (0, (1 << t.bits) - 1)
    return lo <= value <= hi


def _snapshot(maps: MapTable, cp: CheckedProgram) -> tuple[object, ...]:
    return dict(maps.values), dict(maps.keys), dict(cp.variables)


def assigned_maps(cp: CheckedProgram) -> set[str]:
    """Names of maps that some statement writes (whether or not it types)."""
    out: set[str] = set()
    for checked in cp.probes:
        for root in probe_roots(checked.probe):
            for node in walk(root):
                target = getattr(node, "target", None)
                if isinstance(node, nodes.Assign | nodes.IncDec) and isinstance(
                        target, nodes.MapRef):
                    out.add(target.name)
    return out


def _settle(cp: CheckedProgram, maps: MapTable) -> None:
    for _ in range(MAX_ROUNDS):
        before, taken = _snapshot(maps, cp), dict(cp.comptime)
        cp.comptime.clear()
        type_program(cp, maps, Diagnostics())
        if taken and cp.comptime != taken:
            # an `if comptime` changed its branch: what the other one stored into maps
            # no longer holds, so the map types are learnt again
            maps.values.clear()
            maps.keys.clear()
            continue
        if _snapshot(maps, cp) == before:
            break


def run(cp: CheckedProgram) -> None:
    maps = MapTable()
    maps.assigned = assigned_maps(cp)
    _settle(cp, maps)
    cyclic = sorted(maps.assigned - maps.values.keys())
    if cyclic:
        # maps only ever assigned values derived from themselves (`$d = @m[k];
        # @m[k] = $d + 1`): as in bpftrace, they hold int64 (reads start at 0)
        for name in cyclic:
            maps.values[name] = I64
        _settle(cp, maps)
    cp.comptime.clear()
    type_program(cp, maps, cp.diagnostics)
    keep_comptime_branches(cp)


def keep_comptime_branches(cp: CheckedProgram) -> None:
    """Each `if comptime` keeps only the branch it took (in `then`), so later passes and
    codegen never see the other one."""
    for s, taken in cp.comptime.items():
        assert isinstance(s, nodes.If)
        branch = s.then if taken else s.otherwise
        s.then, s.otherwise = branch or nodes.Block(span=s.span), None
