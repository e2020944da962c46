"""Type inference of expressions (used by the typecheck pass): one method per node."""

from __future__ import annotations

from collections.abc import Sequence

from pytrace import builtins, nodes
from pytrace.builtins.args import (
    FUNCTION_KINDS,
    function_args_struct,
    function_retval,
    tracepoint_args_struct,
)
from pytrace.builtins.base import Builtin, is_int, name_span, type_word
from pytrace.diagnostics import Diagnostics
from pytrace.nodes import display_var
from pytrace.passes.context import CheckedProgram, Options
from pytrace.passes.typemem import MemoryTyper, is_literal
from pytrace.probes.target import ProbeTarget
from pytrace.source import Span
from pytrace.types import (
    AggT,
    ArrayT,
    BoolT,
    IntT,
    PtrT,
    RecordT,
    StrT,
    StructT,
    TupleT,
    Type,
    VoidT,
    flexible_operands,
    literal_type,
    merge_ints,
    promote_int,
    signed_operation,
    unify,
    unify_values,
)

ARITH = frozenset({"+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"})
COMPARE = frozenset({"==", "!=", "<", "<=", ">", ">="})
LOGIC = frozenset({"&&", "||"})
I64 = IntT(64, True)
UNSET = literal_type(0)  # a `let $x;` not yet assigned holds 0, a uint8 literal
READABLE_AGGS = frozenset({"count", "sum", "min", "max", "avg"})


def str_type(text: str) -> StrT:
    return StrT(len(text.encode("utf-8")) + 1)


class MapTable:
    """Map value/key types gathered from assignments (filled by a first typing run)."""

    def __init__(self) -> None:
        self.values: dict[str, Type] = {}
        self.assigned: set[str] = set()  # maps written somewhere (typed or not)
        self.keys: dict[str, Type | None] = {}

    def assign(self, name: str, value: Type, key: Type | None,
               literal: int | None = None) -> None:
        old = self.values.get(name)
        if isinstance(old, IntT) and isinstance(value, IntT):
            merged: Type | None = merge_ints(old, value, literal)[0]
        else:
            merged = value if old is None else unify_values(old, value)
        self.values[name] = merged if merged is not None else old or value
        if name not in self.keys or self.keys[name] is None:
            self.keys[name] = key
        elif key is not None:
            self.keys[name] = unify_values(self.keys[name], key) or self.keys[name]  # type: ignore[arg-type]


class ExprTyper(MemoryTyper):
    """Types expressions of one probe block; also the builtins' TypeContext."""

    def __init__(self, cp: CheckedProgram, block: int, targets: Sequence[ProbeTarget],
                 maps: MapTable, diags: Diagnostics) -> None:
        self.cp = cp
        self.block = block
        self.targets = targets
        self.maps = maps
        self.diags = diags
        self.options: Options = cp.options
        self.declared: set[str] = set()
        self.hints: dict[tuple[int, str], Type] = {}
        self.int_spaces: dict[tuple[int, str], bool] = {}
        # variables whose type typeinfo/typeof/sizeof/offsetof read: a comptime branch
        # may not change it
        self.locked: dict[tuple[int, str], Type] = {}

    # --------------------------------------------------------------- TypeContext
    def const_int(self, expr: nodes.Expr) -> int | None:
        if isinstance(expr, nodes.Int):
            return expr.value
        if isinstance(expr, nodes.Unary) and expr.op == "-":
            inner = self.const_int(expr.operand)
            return None if inner is None else -inner
        value = self.cp.constants.get(expr)
        return value if isinstance(value, int) else None

    def const_str(self, expr: nodes.Expr) -> str | None:
        if isinstance(expr, nodes.Str):
            return expr.value
        value = self.cp.constants.get(expr)
        return value if isinstance(value, str) else None

    # ------------------------------------------------------------------ helpers
    def record(self, node: nodes.Node, t: Type | None) -> Type | None:
        if t is not None:
            self.cp.types[node] = t
        return t

    def expr(self, e: nodes.Expr) -> Type | None:
        method = getattr(self, "e_" + type(e).__name__, None)
        if method is None:
            self.diags.error(f"{type(e).__name__} expressions are not supported", e.span)
            return None
        return self.record(e, method(e))

    def value(self, e: nodes.Expr) -> Type | None:
        """An expression used as a value: aggregations and void calls are errors."""
        if isinstance(e, nodes.Call):
            entry = builtins.function(e.name)
            if entry is not None and entry.aggregation:
                self.diags.error(f"{e.name}() should be directly assigned to a map", e.span)
                return None
        t = self.expr(e)
        if isinstance(t, VoidT):
            what = f"{e.name}()" if isinstance(e, nodes.Call) else "The expression"
            self.diags.error(f"{what} does not return a value", e.span)
            return None
        return t

    # ----------------------------------------------------------------- literals
    def e_Int(self, e: nodes.Int) -> Type:
        if e.boolean:
            return BoolT()
        return literal_type(e.value)

    def e_Str(self, e: nodes.Str) -> Type:
        return str_type(e.value)

    def e_PositionalParam(self, e: nodes.PositionalParam) -> Type:
        value = self.cp.constants.get(e, 0)
        return str_type(value) if isinstance(value, str) else literal_type(value)

    def e_PositionalCount(self, e: nodes.PositionalCount) -> Type:
        return I64

    def e_Identifier(self, e: nodes.Identifier) -> Type | None:
        if e in self.cp.constant_types:
            return self.cp.constant_types[e]
        if e in self.cp.constants:
            value = self.cp.constants[e]
            return str_type(value) if isinstance(value, str) else I64
        entry = builtins.identifier(e.name)
        if entry is None:
            return None  # reported by resolve
        if not entry.lowered:
            self.diags.error(f"The {e.name} builtin is not implemented by pytrace", e.span)
            return None
        if e.name == "args" and any(t.kind in FUNCTION_KINDS for t in self.targets):
            return function_args_struct(self.targets, e.span, self.diags, self.cp.type_table)
        if e.name == "args" and self.targets and all(t.kind == "tracepoint"
                                                     for t in self.targets):
            return tracepoint_args_struct(self.targets, e.span, self.diags,
                                          self.cp.type_table)
        if e.name == "args":  # typed here only when not the base of a field access
            self.diags.error("args can only be read through one of its fields (args.NAME)",
                             e.span)
            return None
        if e.name == "retval" and any(t.kind == "fexit" for t in self.targets):
            rt = function_retval(self.targets, e.span, self.diags, self.cp.type_table)
            return self.cp.type_table.deep(rt) if isinstance(rt, StructT | ArrayT) else rt
        return entry.rule(self, e, [])

    def e_Variable(self, e: nodes.Variable) -> Type | None:
        t = self.cp.variables.get((self.block, e.name))
        hint = self.hints.get((self.block, e.name))
        if t is not None and hint is not None and t != hint \
                and isinstance(t, IntT | TupleT | RecordT | StrT):
            # every read sees the type all the variable's assignments give it
            t = unify_values(t, hint) or t
        if t is None and e.name in self.declared:
            # `let $x;` read before an assignment: 0 of the type its assignments give it
            t = self.hints.get((self.block, e.name), UNSET)
        if t is None:
            self.diags.error(f"Undefined or undeclared variable: ${display_var(e.name)}",
                             e.span)
        return t

    # --------------------------------------------------------------------- maps
    def map_keys(self, e: nodes.MapRef) -> Type | None:
        """Type the keys of a map reference; the key type as MapInfo stores it."""
        types = [self.value(k) for k in e.keys]
        if any(t is None for t in types):
            return None
        for k, t in zip(e.keys, types, strict=False):
            if isinstance(t, AggT | VoidT):
                self.diags.error(f"{type_word(t)} cannot be used as a map key", k.span)
                return None
        if not types:
            return None
        return types[0] if len(types) == 1 else TupleT(tuple(t for t in types if t))

    def e_MapRef(self, e: nodes.MapRef) -> Type | None:
        self.map_keys(e)
        stored = self.maps.values.get(e.name)
        if stored is None:
            if e.name not in self.maps.assigned:
                self.diags.error(f"Undefined map: {e.name}", e.span)
            return None
        if isinstance(stored, AggT):
            if stored.kind not in READABLE_AGGS:
                self.diags.error(f"The value of {stored.kind}() map {e.name} can not be read "
                                 "in an expression", e.span, "print it with print()")
                return None
            return IntT(64, stored.signed)
        return stored

    def whole_map(self, e: nodes.Expr, fname: str) -> Type | None:
        """A whole-map argument (`clear(@m)`): typed as the map's stored value."""
        if not isinstance(e, nodes.MapRef) or e.keys:
            self.diags.error(f"{fname}() expects a map without a key as argument", e.span)
            return None
        stored = self.maps.values.get(e.name)
        if stored is None and e.name not in self.maps.assigned:
            self.diags.error(f"Undefined map: {e.name}", e.span)
        return self.record(e, stored)

    # -------------------------------------------------------------------- calls
    def e_Call(self, e: nodes.Call) -> Type | None:
        entry = builtins.function(e.name)
        if entry is None:
            return None  # reported by resolve
        n = len(e.args)
        if not entry.min_args <= n <= entry.max_args:
            self.arg_count_error(e, entry, n)
            return None
        if e.name == "str":
            tail = self.positional_tail(e)
            if tail is not None:
                self.cp.constants[e] = tail
                return str_type(tail)
        args = self.call_args(e, entry)
        if args is None:
            return None
        result = entry.rule(self, e, args)
        if not entry.lowered:
            self.diags.error(f"{e.name}() is not implemented by pytrace", name_span(e))
            return None
        return result

    def positional_tail(self, e: nodes.Call) -> str | None:
        """`str($N + k[, len])` with a string parameter $N: its text from byte k on (the
        parameter is read as a pointer to its text), known at compile time."""
        arg = e.args[0]
        if not (isinstance(arg, nodes.Binary) and arg.op == "+"
                and isinstance(arg.left, nodes.PositionalParam)):
            return None
        text, k = self.cp.constants.get(arg.left), self.const_int(arg.right)
        if not isinstance(text, str) or k is None or k < 0:
            return None
        self.expr(arg.left)
        self.expr(arg.right)
        tail = text.encode()[k:]
        if len(e.args) == 2:
            n = self.const_int(e.args[1])
            if n is None:
                return None
            self.expr(e.args[1])
            tail = tail[:max(n - 1, 0)]
        return tail.decode(errors="replace")

    def arg_count_error(self, e: nodes.Call, entry: Builtin, n: int) -> None:
        lo, hi = entry.min_args, entry.max_args
        words = {0: "no arguments", 1: "one argument", 2: "two arguments",
                 3: "three arguments", 4: "four arguments"}
        if lo == hi:
            want = f"requires {words.get(lo, f'{lo} arguments')}"
        elif n > hi:
            want = f"takes up to {hi} argument{'s' if hi > 1 else ''}"
        else:
            want = f"requires at least {words.get(lo, f'{lo} arguments')}"
        self.diags.error(f"{e.name}() {want} ({n} provided)", e.span)

    def call_args(self, e: nodes.Call, entry: Builtin) -> list[Type] | None:
        if entry.raw_args:
            return [t for a in e.args if not isinstance(a, nodes.Identifier)
                    for t in [self.expr(a)] if t is not None]
        out: list[Type] = []
        for i, arg in enumerate(e.args):
            if i == entry.out_arg:
                out.append(self.out_argument(e, arg))
                continue
            if entry.map_arg and i == 0:
                t = self.map_argument(e, arg)
                out.append(t if t is not None else VoidT())
                continue
            t = self.value(arg)
            if t is None:
                return None
            out.append(t)
        return out

    def out_argument(self, e: nodes.Call, arg: nodes.Expr) -> Type:
        """find(@m, k, $v): $v takes the map's value type (a readable integer for
        count/sum/min/max/avg maps)."""
        if not isinstance(arg, nodes.Variable):
            self.diags.error(f"{e.name}() expects a scratch variable to store the value in",
                             arg.span)
            return VoidT()
        m = e.args[0] if e.args else None
        value = self.maps.values.get(m.name) if isinstance(m, nodes.MapRef) else None
        if isinstance(value, AggT):
            if value.kind not in READABLE_AGGS:
                assert isinstance(m, nodes.MapRef)
                self.diags.error(f"The value of {value.kind}() map {m.name} can not be read "
                                 "in an expression", arg.span, "print it with print()")
                return VoidT()
            value = IntT(64, value.signed)
        if value is None:
            return VoidT()
        self.assign_out(arg, value)
        return value

    def assign_out(self, var: nodes.Variable, t: Type) -> None:
        """Record that a call writes scratch variable `var` (the block typer checks it
        against the variable's other values, as an assignment)."""
        self.cp.variables.setdefault((self.block, var.name), t)
        self.record(var, self.cp.variables[(self.block, var.name)])

    def map_argument(self, e: nodes.Call, arg: nodes.Expr) -> Type | None:
        if e.name == "len" and not isinstance(arg, nodes.MapRef):
            return self.value(arg)  # len(kstack), len(ustack)
        if e.name == "print":
            if isinstance(arg, nodes.MapRef) and not arg.keys:
                return self.whole_map(arg, e.name)
            stored = self.maps.values.get(arg.name) if isinstance(arg, nodes.MapRef) else None
            if isinstance(stored, AggT) and stored.kind in ("hist", "lhist", "tseries"):
                self.diags.error(f"Map type {stored.kind}_t cannot print the value of "
                                 "individual keys. You must print the whole map.", e.span)
                return None
            return self.value(arg)
        if e.name == "delete" and len(e.args) == 1:
            if not isinstance(arg, nodes.MapRef):
                self.diags.error("delete() expects a map element as argument", arg.span)
                return None
            self.map_keys(arg)
            return self.record(arg, self.maps.values.get(arg.name))
        if e.name == "delete" and isinstance(arg, nodes.MapRef) and arg.keys:
            # bpftrace underlines from the call's name to the end of the keyed map
            self.diags.error("delete() expects a map with no keys for the first argument",
                             Span(e.span.line, e.span.col, arg.span.end_line,
                                  arg.span.end_col, e.span.source))
            return None
        return self.whole_map(arg, e.name)

    # -------------------------------------------------------------- operators
    def mismatch(self, op: str, e: nodes.Expr, a: Type, b: Type) -> None:
        self.diags.error(f"Type mismatch for '{op}': comparing '{a}' with '{b}'", e.span)

    def e_Binary(self, e: nodes.Binary) -> Type | None:
        a, b = self.value(e.left), self.value(e.right)
        if a is None or b is None:
            return None
        if e.op in COMPARE and isinstance(a, StrT) and isinstance(b, StrT):
            if e.op in ("==", "!="):
                return I64
        if e.op in ("==", "!=") and isinstance(a, TupleT | RecordT) \
                and type(a) is type(b):
            if unify(a, b) is None:
                self.mismatch(e.op, e, a, b)
                return None
            return I64
        if e.op in ("==", "!=") and isinstance(a, ArrayT) and isinstance(b, ArrayT):
            if a.csize != b.csize or not isinstance(a.elem, IntT):
                self.mismatch(e.op, e, a, b)
                return None
            return I64
        if not (is_int(a) and is_int(b)):
            self.mismatch(e.op, e, a, b)
            return None
        if e.op in COMPARE or e.op in LOGIC:
            return I64
        if e.op in ("+", "-") and isinstance(a, PtrT) and not isinstance(b, PtrT):
            return a  # pointer arithmetic: scaled by the pointee's size
        if e.op == "+" and isinstance(b, PtrT) and not isinstance(a, PtrT):
            return b
        if e.op == "-":
            return I64  # as bpftrace: a difference is signed
        if e.op == "+" and (self.signed_operand(e.left, a) or self.signed_operand(e.right, b)):
            return I64  # adding a signed value is signed too: (uint64)1 + (-2) is -1
        constants = self.cp.constants
        return IntT(64, signed_operation(*flexible_operands(
            a, b, nodes.literal_value(e.left, constants), nodes.literal_value(e.right, constants))))

    def signed_operand(self, e: nodes.Expr, t: Type) -> bool:
        """A signed operand that is no non-negative literal (those take the other
        operand's sign)."""
        if not (isinstance(t, IntT) and t.signed):
            return False
        k = self.const_int(e)
        return k is None or k < 0

    def e_Unary(self, e: nodes.Unary) -> Type | None:
        t = self.value(e.operand)
        if t is None:
            return None
        if e.op == "-" and is_literal(e.operand):
            value = self.const_int(e)
            if value is not None:
                return literal_type(value)  # `-1` is a literal: int8
        if e.op == "*":
            return self.deref(e, t)
        if e.op == "&":
            return self.address_of(e)
        if not is_int(t):
            self.diags.error(f"The {e.op} operator can not be used on expressions of type "
                             f"'{t}'", e.span)
            return None
        if e.op == "~":
            return IntT(64, isinstance(t, IntT) and t.signed)
        return I64

    def e_Ternary(self, e: nodes.Ternary) -> Type | None:
        c = self.value(e.cond)
        a, b = self.expr(e.then), self.expr(e.otherwise)
        if c is None or a is None or b is None:
            return None
        if not is_int(c):
            self.diags.error(f"Invalid condition in ternary: '{c}'", e.cond.span)
            return None
        if isinstance(a, VoidT) and isinstance(b, VoidT):
            return a  # `c ? print("x") : print("y");` as a statement
        for side in (e.then, e.otherwise):
            if isinstance(self.cp.types.get(side), VoidT):
                self.value(side)  # reports that the call gives no value
                return None
        merged = self.branch_type(e, a, b)
        if merged is None:
            self.diags.error("Ternary operator must return the same type: have "
                             f"'{type_word(a)}' and '{type_word(b)}'", e.span)
        return merged

    def branch_type(self, e: nodes.Ternary, a: Type, b: Type) -> Type | None:
        """The one type of a ternary's two values: integers promoted as assignments
        promote them (a positive literal branch takes the other's signed type when it
        fits: `c ? 1 : -1` is int8), int64 when no type holds both."""
        if isinstance(a, IntT) and isinstance(b, IntT):
            lits = [self.const_int(x) if is_literal(x) else None for x in (e.then, e.otherwise)]
            return promote_int(a, b, lits[0], lits[1]) or I64
        if is_int(a) and is_int(b):
            return IntT(64, False)  # a pointer and an integer: an address
        return unify_values(a, b)

    def e_TupleIndex(self, e: nodes.TupleIndex) -> Type | None:
        base = self.value(e.expr)
        if base is None:
            return None
        if not isinstance(base, TupleT):
            self.diags.error(f"Can not access index '{e.index}' on expression of type "
                             f"'{base}'", e.span)
            return None
        if not 0 <= e.index < len(base.elems):
            self.diags.error(f"Invalid tuple index: {e.index}. Found {len(base.elems)} "
                             "elements in tuple.", e.span)
            return None
        return base.elems[e.index]

    # ----------------------------------------------------------- constructors
    def e_TupleExpr(self, e: nodes.TupleExpr) -> Type | None:
        elems = [self.value(x) for x in e.elems]
        if any(t is None for t in elems):
            return None
        for x, t in zip(e.elems, elems, strict=False):
            if isinstance(t, AggT):
                self.diags.error(f"{type_word(t)} cannot be stored in a tuple", x.span)
                return None
        return TupleT(tuple(t for t in elems if t is not None))

    def e_RecordExpr(self, e: nodes.RecordExpr) -> Type | None:
        types = [(name, self.value(x)) for name, x in e.fields]
        if any(t is None for _, t in types):
            return None
        seen: set[str] = set()
        for name, x in e.fields:
            if name in seen:
                self.diags.error(f"Duplicate field name in record: '{name}'", x.span)
                return None
            seen.add(name)
        return RecordT(tuple((n, t) for n, t in types if t is not None))
