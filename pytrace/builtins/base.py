"""The builtins registry's building blocks: the Builtin entry, the context a type rule
sees, and helpers that name types the way bpftrace's error messages do.

An entry holds everything about one builtin: how it may be written, its type rule, its
lowering to BPF (`emit`, `emit_into`, `update`) and, for values that userspace renders
itself, its decoder. Lowering functions receive the codegen's ProgEmitter and use only
its methods and attributes, so importing the registry never imports llvmlite.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from pytrace import nodes
from pytrace.diagnostics import Diagnostics
from pytrace.frozen import frozen
from pytrace.probes.target import ProbeTarget

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter
    from pytrace.codegen.values import Val
    from pytrace.passes.context import Options
from pytrace.types import (
    AggT,
    BufT,
    IntT,
    ProbeNameT,
    PtrT,
    StackT,
    StrT,
    SymT,
    TupleT,
    Type,
    UserFormatT,
)


class TypeContext(Protocol):
    """What a type rule may consult; the typecheck pass provides it."""

    diags: Diagnostics
    options: Options
    targets: Sequence[ProbeTarget]

    def const_int(self, expr: nodes.Expr) -> int | None:
        """The value of an integer literal (after #define / $N substitution) or None."""
        ...

    def const_str(self, expr: nodes.Expr) -> str | None:
        """The value of a string literal (after substitution) or None."""
        ...


# (ctx, the Call or Identifier node, the argument types) -> result type
TypeRule = Callable[[TypeContext, nodes.Expr, list[Type]], Type]
# (emitter, the Call or Identifier node) -> its value (a VoidT value for statements)
Emit = Callable[["ProgEmitter", Any], "Val"]
# (emitter, node, destination buffer, type laid out there, offset, zero first) -> whether
# the value was written straight into the destination (else the caller copies emit()'s)
EmitInto = Callable[["ProgEmitter", Any, Any, Type, int, bool], bool]
# aggregations: (emitter, the map reference assigned to, the call, the map's value type)
Update = Callable[["ProgEmitter", nodes.MapRef, nodes.Call, AggT], None]
# values rendered in userspace: (the value's type, record bytes, offset) -> Python value
Decode = Callable[[Type, Any, int], object]


@frozen
class Builtin:
    """One builtin identifier or function.

    identifier/call: how it may be written (`pid`, `pid()`).
    min_args/max_args: the argument count range when called.
    rule: computes the result type and records diagnostics.
    kinds: the probe kinds it is valid in (None: every kind).
    unsafe: needs --unsafe. aggregation: only as `@m[...] = f(...)`.
    map_arg: the first argument is a whole map (`clear(@m)`), not a value read.
    raw_args: the arguments are keywords/literals the rule reads itself (kstack(perf)).
    out_arg: the index of a scratch-variable argument the call writes (find's result).
    emit: the lowering of `name` / `name(...)`; None when pytrace cannot compile it (the
      typecheck pass then refuses it with a located error).
    emit_into: an optional faster lowering straight into a destination buffer.
    update: the lowering of `@m[k] = name(...)` for aggregations.
    decode: renders a value of this builtin's result type in userspace.
    """

    name: str
    rule: TypeRule
    identifier: bool = False
    call: bool = True
    min_args: int = 0
    max_args: int = 0
    kinds: frozenset[str] | None = None
    unsafe: bool = False
    aggregation: bool = False
    map_arg: bool = False
    raw_args: bool = False
    out_arg: int | None = None  # this argument is a variable the call assigns (find)
    discardable: bool = False  # a statement may drop its value without a warning (delete)
    emit: Emit | None = None
    emit_into: EmitInto | None = None
    update: Update | None = None
    decode: Decode | None = None

    @property
    def lowered(self) -> bool:
        """Whether codegen can compile this builtin."""
        return (self.update if self.aggregation else self.emit) is not None


def type_word(t: Type | None) -> str:
    """How bpftrace names a type in 'expects … (X supplied)' messages."""
    if t is None:
        return "none"
    if isinstance(t, IntT | PtrT):
        return "integer"
    if isinstance(t, StrT | ProbeNameT):
        return "string"
    if isinstance(t, BufT):
        return "buffer"
    if isinstance(t, TupleT):
        return "tuple"
    if isinstance(t, AggT):
        return str(t).removesuffix("_t")
    if isinstance(t, StackT | SymT | UserFormatT):
        return str(t)
    return str(t)


def is_int(t: Type | None) -> bool:
    return isinstance(t, IntT | PtrT)


def is_str(t: Type | None) -> bool:
    return isinstance(t, StrT)


def fixed(t: Type) -> TypeRule:
    """A rule that always gives the same type."""

    def rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
        return t

    return rule


def call_args(node: nodes.Expr) -> list[nodes.Expr]:
    return node.args if isinstance(node, nodes.Call) else []


def name_span(node: nodes.Expr):  # type: ignore[no-untyped-def]
    """The span of a call's name only (bpftrace underlines `foo` in `foo()`)."""
    from pytrace.source import Span

    sp = node.span
    name = getattr(node, "name", "")
    if sp.line <= 0 or not name:
        return sp
    return Span(sp.line, sp.col, sp.line, sp.col + len(name), sp.source)


U64 = IntT(64, False)
I64 = IntT(64, True)
