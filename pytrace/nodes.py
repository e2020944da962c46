"""AST dataclasses: one class per construct, a span on every node, no behaviour.

Nodes compare by identity (eq=False) so they can key side tables such as the type
table that the passes build (`dict[Node, Type]`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pytrace.source import NO_SPAN, Span

# Scratch variables the passes rename (a macro's private variables, a second variable of
# the same name in another scope) are `name#suffix`; users see `$name`.
VAR_SUFFIX = "#"


def display_var(name: str) -> str:
    """A scratch variable's name as written (without the suffix the passes add)."""
    return name.split(VAR_SUFFIX, 1)[0]


@dataclass(eq=False, slots=True)
class Node:
    span: Span = field(default=NO_SPAN, kw_only=True)


# ---------------------------------------------------------------- expressions


@dataclass(eq=False, slots=True)
class Expr(Node):
    pass


@dataclass(eq=False, slots=True)
class Int(Expr):
    """Integer literal (decimal, hex, octal, 1_000, 1e6, true/false, durations)."""

    value: int
    boolean: bool = False  # written `true` / `false`


@dataclass(eq=False, slots=True)
class Str(Expr):
    """String literal, C escapes already decoded."""

    value: str


@dataclass(eq=False, slots=True)
class PositionalParam(Expr):
    """$1, $2 … (index >= 1)."""

    index: int


@dataclass(eq=False, slots=True)
class PositionalCount(Expr):
    """$#."""


@dataclass(eq=False, slots=True)
class Identifier(Expr):
    """A bare name: a builtin (pid, comm, args, arg0, retval …), an enum value, a
    #define'd constant or an unknown identifier (the passes decide)."""

    name: str


@dataclass(eq=False, slots=True)
class Variable(Expr):
    """A scratch variable `$name` (name without the `$`)."""

    name: str


@dataclass(eq=False, slots=True)
class MapRef(Expr):
    """`@name`, `@name[k]`, `@name[k1, k2]`, `@` (name is '@' + the name, e.g. '@', '@x').

    keys is empty for an unkeyed map.
    """

    name: str
    keys: list[Expr] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Call(Expr):
    """A function or builtin written as a call: printf(...), count(), pid(); `name!(...)`
    (bang) names a macro."""

    name: str
    args: list[Expr] = field(default_factory=list)
    bang: bool = False


@dataclass(eq=False, slots=True)
class Binary(Expr):
    """op is one of + - * / % & | ^ << >> == != < <= > >= && ||."""

    op: str
    left: Expr
    right: Expr


@dataclass(eq=False, slots=True)
class Unary(Expr):
    """op is one of - ! ~ * (dereference) & (address-of)."""

    op: str
    operand: Expr


@dataclass(eq=False, slots=True)
class IncDec(Expr):
    """++x, x++, --x, x-- on a variable or a map element."""

    op: str  # '++' or '--'
    prefix: bool
    target: Expr  # Variable | MapRef


@dataclass(eq=False, slots=True)
class Ternary(Expr):
    cond: Expr
    then: Expr
    otherwise: Expr


@dataclass(eq=False, slots=True)
class FieldAccess(Expr):
    """`expr.field` or `expr->field` (args.filename, args->count, $t.0 is TupleIndex)."""

    expr: Expr
    field_name: str
    arrow: bool = False


@dataclass(eq=False, slots=True)
class TupleIndex(Expr):
    """`expr.0`, `expr.1` …"""

    expr: Expr
    index: int


@dataclass(eq=False, slots=True)
class Index(Expr):
    """`expr[i]` on an array or pointer (not a map)."""

    expr: Expr
    index: Expr


@dataclass(eq=False, slots=True)
class TypeName(Node):
    """A type written in the source: `uint8`, `int32`, `struct task_struct *`,
    `char[16]`, `inet`. name is the base name including `struct `/`union `/`enum `."""

    name: str
    pointer_depth: int = 0
    array_size: int | None = None
    of: Typeof | None = None  # `typeof(...)` as the base type (name is "typeof")
    outer_pointers: int = 0  # `T[4]*`: pointers to the array


@dataclass(eq=False, slots=True)
class Typeof(Expr):
    """`typeof(T)` or `typeof(expr)`: a type, valid in casts, declarations, sizeof and
    offsetof and as a macro argument; the expression is typed, never run."""

    target: TypeName | Expr


@dataclass(eq=False, slots=True)
class Cast(Expr):
    type_name: TypeName
    expr: Expr


@dataclass(eq=False, slots=True)
class TupleExpr(Expr):
    elems: list[Expr]


@dataclass(eq=False, slots=True)
class RecordExpr(Expr):
    """`(a=1, b="x")` (P2)."""

    fields: list[tuple[str, Expr]]


@dataclass(eq=False, slots=True)
class BlockExpr(Expr):
    """`{ stmt; ...; value }`: the statements run in their own scope, then `value` (an
    expression written last without a `;`) is the block's value; None: no value (void).
    Macro expansions are block expressions too (`macro` names the macro)."""

    stmts: list[Stmt]
    value: Expr | None = None
    macro: str = ""


@dataclass(eq=False, slots=True)
class Sizeof(Expr):
    target: TypeName | Expr


@dataclass(eq=False, slots=True)
class Typeinfo(Expr):
    """`typeinfo(T)` / `typeinfo(expr)`: the record (btf_id, base_ty, full_ty) describing
    a type, built when the program is compiled; the expression is typed, never run."""

    target: TypeName | Expr


@dataclass(eq=False, slots=True)
class Offsetof(Expr):
    type_name: TypeName | Expr
    field_names: list[str]


# ---------------------------------------------------------------- statements


@dataclass(eq=False, slots=True)
class Stmt(Node):
    pass


@dataclass(eq=False, slots=True)
class Block(Node):
    stmts: list[Stmt] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class ExprStmt(Stmt):
    """An expression evaluated for its effect; discard: written `_ = expr;` (a value that
    is thrown away on purpose, so no warning)."""

    expr: Expr
    discard: bool = False


@dataclass(eq=False, slots=True)
class Assign(Stmt):
    """`target = value` or compound `target op= value` (op is '+', '<<' … or None)."""

    target: Expr  # Variable | MapRef
    value: Expr
    op: str | None = None


@dataclass(eq=False, slots=True)
class VarDecl(Stmt):
    """`let $x;`, `let $x = e;`, `let $x: type = e;` (name without `$`)."""

    name: str
    type_name: TypeName | None = None
    value: Expr | None = None


@dataclass(eq=False, slots=True)
class If(Stmt):
    cond: Expr
    then: Block
    otherwise: Block | None = None  # `else if` is an else Block holding one If
    comptime: bool = False  # `if comptime (...)`: decided when the program is compiled


@dataclass(eq=False, slots=True)
class Unroll(Stmt):
    count: Expr
    body: Block


@dataclass(eq=False, slots=True)
class While(Stmt):
    cond: Expr
    body: Block


@dataclass(eq=False, slots=True)
class Range(Node):
    """`start..end` in `for ($i : start..end)`."""

    start: Expr
    end: Expr


@dataclass(eq=False, slots=True)
class For(Stmt):
    """`for ($kv : @map)` or `for ($i : a..b)`."""

    var: str
    iterable: MapRef | Range
    body: Block


@dataclass(eq=False, slots=True)
class Break(Stmt):
    pass


@dataclass(eq=False, slots=True)
class Continue(Stmt):
    pass


@dataclass(eq=False, slots=True)
class Return(Stmt):
    value: Expr | None = None


# ---------------------------------------------------------------- top level


@dataclass(eq=False, slots=True)
class AttachPoint(Node):
    """One attach point exactly as written (`t:syscalls:sys_enter_read*`, `BEGIN`,
    `uprobe:/bin/bash:readline`, `interval:s:1`); the probes registry parses it."""

    raw: str
    label: str = ""  # `NAME=probe:...`: the probe's name ('' when unnamed)


@dataclass(eq=False, slots=True)
class Probe(Node):
    attach_points: list[AttachPoint]
    predicate: Expr | None
    body: Block


@dataclass(eq=False, slots=True)
class Include(Node):
    path: str  # as written, without <> or quotes
    system: bool = True


@dataclass(eq=False, slots=True)
class Define(Node):
    """`#define NAME value` (value is the raw text after the name)."""

    name: str
    value: str


@dataclass(eq=False, slots=True)
class CDefinition(Node):
    """A C `struct`/`union`/`enum` definition or typedef in the preamble, kept as text."""

    kind: str  # 'struct' | 'union' | 'enum' | 'typedef'
    name: str
    text: str


@dataclass(eq=False, slots=True)
class Config(Node):
    """`config = { key = value; … }` (key_spans: where each key is written)."""

    items: list[tuple[str, Expr]]
    key_spans: list[Span] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Import(Node):
    """`import "path";` (resolved and merged before the passes run)."""

    path: str


@dataclass(eq=False, slots=True)
class MacroParam(Node):
    """One macro parameter: kind 'var' (`$a`, a scratch variable), 'map' (`@m`) or 'expr'
    (`x`, any expression); name as written, without `$`/`@`... except maps keep '@'."""

    kind: str
    name: str


@dataclass(eq=False, slots=True)
class MacroDef(Node):
    """`macro name(params) { body }`; the body's last expression is the macro's value."""

    name: str
    params: list[MacroParam]
    body: BlockExpr


@dataclass(eq=False, slots=True)
class MapDecl(Node):
    """`let @m = lruhash(100);`: kind is the map type word as written."""

    name: str
    kind: str
    args: list[Expr] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Program(Node):
    preamble: list[Node] = field(default_factory=list)  # Include | Define | CDefinition | Config | Import
    probes: list[Probe] = field(default_factory=list)
    macros: list[MacroDef] = field(default_factory=list)
    map_decls: list[MapDecl] = field(default_factory=list)


def literal_value(e: Expr, constants: Mapping[Node, object]) -> int | None:
    """The value of an integer literal as written (`5`, `-5`, a numeric `$N`; not `true`),
    None for any other expression. `constants` holds the values of positional parameters."""
    if isinstance(e, Unary) and e.op == "-":
        inner = literal_value(e.operand, constants)
        return None if inner is None else -inner
    if isinstance(e, Int) and not e.boolean:
        return e.value
    if isinstance(e, PositionalParam):
        value = constants.get(e)
        return value if isinstance(value, int) else None
    return None
