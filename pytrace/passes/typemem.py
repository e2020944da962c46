"""Types of expressions that read memory or name types: field access (with `.`
auto-dereferencing pointers, `->` its alias), `[]` on arrays and pointers, `*p`, `&x`,
casts, sizeof, offsetof. A mixin of ExprTyper (passes/typeexpr.py).

Structs come from the TypeTable; a pointer's pointee is completed on demand. A field's
node type is what reading it gives: a bitfield is its integer, an embedded struct the
complete struct.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pytrace import builtins, nodes
from pytrace.builtins.args import (
    FUNCTION_KINDS,
    args_field,
    function_args,
    rawtracepoint_args,
    uprobe_args,
)
from pytrace.builtins.base import is_int
from pytrace.passes import typeinfo
from pytrace.passes.compiletime import const_value
from pytrace.passes.typenames import base_type, resolve_type, unknown_type
from pytrace.passes.walk import walk
from pytrace.types import (
    ArrayT,
    BitfieldT,
    BoolT,
    EnumT,
    FuncProtoT,
    IntT,
    PtrT,
    RecordT,
    StrT,
    StructT,
    TupleT,
    Type,
    value_sizeof,
)

if TYPE_CHECKING:
    from pytrace.diagnostics import Diagnostics
    from pytrace.passes.context import CheckedProgram
    from pytrace.probes.target import ProbeTarget

U64 = IntT(64, False)


def reading(t: Type) -> Type:
    """The type a read of a member of type t produces."""
    if isinstance(t, BitfieldT):
        return IntT(t.bits, t.signed)
    return t


def in_space(t: Type, user: bool) -> Type:
    """A pointer read from memory of one address space points into the same space."""
    if isinstance(t, PtrT):
        return PtrT(t.pointee, user=user, ctype=t.ctype, kernel=not user)
    return t


def pointer_to(t: Type | None, user: bool = False) -> PtrT:
    if isinstance(t, StructT) and t.name:
        return PtrT(StructT(t.name, union=t.union), user=user, ctype=f"{t.name} *")
    if t is None:
        return PtrT(None, user=user, ctype="void *")
    inner = t.ctype if isinstance(t, PtrT) and t.ctype else str(t)
    return PtrT(t, user=user, ctype=f"{inner.rstrip()} *")


SIZED_CASTS = {"string": "str", "buffer": "buf"}  # cast name -> the builtin that reads


def is_literal(e: nodes.Expr) -> bool:
    """An integer literal as written: `5`, `-5`, a numeric positional parameter."""
    if isinstance(e, nodes.Unary) and e.op == "-":
        return is_literal(e.operand)
    return isinstance(e, nodes.Int) and not e.boolean or isinstance(e, nodes.PositionalParam)


class MemoryTyper:
    """Field access, indexing, dereference, address-of, casts and type builtins."""

    cp: CheckedProgram
    diags: Diagnostics
    targets: Sequence[ProbeTarget]
    block: int
    # (block, variable) -> the address space (True: user) of the pointer an integer
    # variable was computed from, for later casts back to a pointer
    int_spaces: dict[tuple[int, str], bool]
    locked: dict[tuple[int, str], Type]  # variables read by a type builtin

    # provided by ExprTyper
    def expr(self, e: nodes.Expr) -> Type | None:
        raise NotImplementedError

    def value(self, e: nodes.Expr) -> Type | None:
        raise NotImplementedError

    def record(self, node: nodes.Node, t: Type | None) -> Type | None:
        raise NotImplementedError

    def const_int(self, expr: nodes.Expr) -> int | None:
        raise NotImplementedError

    def complete(self, t: Type | None) -> Type | None:
        return self.cp.type_table.complete(t) if t is not None else None

    def struct_of(self, base: Type, e: nodes.Expr) -> StructT | None:
        """The struct a field access reads from: the value itself, or a pointer's
        pointee (auto-dereferenced)."""
        target = self.complete(base.pointee) if isinstance(base, PtrT) else self.complete(base)
        if isinstance(target, StructT):
            if not target.fields and target.name:
                unknown_type(target.name, e.span, self.cp.type_table, self.diags)
                return None
            return target
        return None

    # -------------------------------------------------------------- fields
    def e_FieldAccess(self, e: nodes.FieldAccess) -> Type | None:
        if e in self.cp.constants:  # config.NAME
            value = self.cp.constants[e]
            if isinstance(value, str):
                return StrT(len(value.encode()) + 1)
            return BoolT() if isinstance(self.cp.config.get(e.field_name), bool) else U64
        if isinstance(e.expr, nodes.Identifier) and e.expr.name == "args" \
                and e.expr not in self.cp.constants:
            self.record(e.expr, builtins.ARGS_TYPE)
            if any(t.kind in FUNCTION_KINDS for t in self.targets):
                ft = function_args(self.targets, e.field_name, e.span, self.diags,
                                   self.cp.type_table)
                return self.cp.type_table.deep(ft) if isinstance(ft, StructT | ArrayT) else ft
            if any(t.kind == "uprobe" for t in self.targets):
                return uprobe_args(self.targets, e.field_name, e.span, self.diags)
            if any(t.kind == "rawtracepoint" for t in self.targets):
                return rawtracepoint_args(self.targets, e.field_name, e.span, self.diags,
                                          self.cp.type_table)
            return args_field(self.targets, e.field_name, e.span, self.diags,
                              self.cp.type_table)
        base = self.value(e.expr)
        if base is None:
            return None
        if isinstance(base, RecordT):
            for name, t in base.fields:
                if name == e.field_name:
                    return t
            self.diags.error(f"Record does not contain a field named '{e.field_name}'", e.span)
            return None
        if isinstance(base, PtrT | StructT):
            struct = self.struct_of(base, e)
            if struct is None:
                if isinstance(base, PtrT) and not isinstance(base.pointee, StructT):
                    self.diags.error(f"Can not access field '{e.field_name}' on type "
                                     f"'{base}'", e.span)
                return None
            found = struct.field(e.field_name)
            if found is None:
                import difflib

                close = difflib.get_close_matches(e.field_name, struct.field_names(), 3, 0.6)
                hints = (f"did you mean: {', '.join(close)}?",) if close else ()
                self.diags.error(f"Struct/union of type '{struct}' does not contain a field "
                                 f"named '{e.field_name}'", e.span, *hints)
                return None
            ft = in_space(reading(found[0]), self.user_memory(e))
            return self.cp.type_table.deep(ft) if isinstance(ft, StructT | ArrayT) else ft
        self.diags.error(f"Can not access field '{e.field_name}' on expression of type "
                         f"'{base}'", e.span)
        return None

    # ---------------------------------------------------------- [] and *
    def e_Index(self, e: nodes.Index) -> Type | None:
        base, idx = self.value(e.expr), self.value(e.index)
        if base is None or idx is None:
            return None
        if not is_int(idx):
            self.diags.error(f"The array index operator [] needs an integer index, not "
                             f"'{idx}'", e.index.span)
            return None
        if isinstance(base, ArrayT):
            n = self.const_int(e.index)
            if n is not None and not 0 <= n < base.count and base.count:
                self.diags.error(f"the index {n} is out of bounds for array of size "
                                 f"{base.count}", e.index.span)
                return None
            return in_space(self.cp.type_table.deep(base.elem), self.user_memory(e))
        if isinstance(base, StrT):
            n = self.const_int(e.index)
            if n is not None and not 0 <= n < base.length:
                self.diags.error(f"the index {n} is out of bounds for array of size "
                                 f"{base.length}", e.index.span)
                return None
            return IntT(8, True)
        if isinstance(base, PtrT):
            return self.deref(e, base)
        if isinstance(base, TupleT):
            return self.tuple_element(e, base)
        self.diags.error("The array index operator [] can only be used on arrays and "
                         f"pointers, found '{base}'", e.span)
        return None

    def tuple_element(self, e: nodes.Index, base: TupleT) -> Type | None:
        """`t[k]`: element k of a tuple, k known at compile time (`t[1 - 1]` too)."""
        k = const_value(self.cp, e.index)
        if not isinstance(k, int):
            self.diags.error("The index of a tuple must be an integer known at compile time",
                             e.index.span)
            return None
        if not 0 <= k < len(base.elems):
            self.diags.error(f"Invalid tuple index: {k}. Found {len(base.elems)} elements "
                             "in tuple.", e.index.span)
            return None
        self.cp.tuple_indexes[e] = k
        return base.elems[k]

    def deref(self, e: nodes.Expr, t: Type) -> Type | None:
        if isinstance(t, PtrT):
            p = self.complete(t.pointee)
            if p is None or isinstance(p, FuncProtoT):
                return U64
            if isinstance(p, StructT) and not p.fields:
                unknown_type(p.name, e.span, self.cp.type_table, self.diags)
                return None
            return in_space(self.cp.type_table.deep(p), self.pointer_user(t))
        if isinstance(t, IntT):
            return U64
        self.diags.error(f"The * operator can not be used on expressions of type '{t}'", e.span)
        return None

    def address_of(self, e: nodes.Unary) -> Type | None:
        """`&x`: the address of a struct member or array element read through a pointer,
        or of a scratch variable or map value (on the BPF stack)."""
        inner = e.operand
        if isinstance(inner, nodes.FieldAccess | nodes.Index) or (
                isinstance(inner, nodes.Unary) and inner.op == "*"):
            t = self.cp.types.get(inner)
            if t is None:
                return None
            if not self.addressable(inner):
                self.diags.error("Can not take the address of this expression", e.span,
                                 "& applies to a field or element reached through a pointer, "
                                 "a variable or a map")
                return None
            return pointer_to(t, self.user_memory(inner))
        if isinstance(inner, nodes.Variable | nodes.MapRef):
            t = self.cp.types.get(inner)
            return pointer_to(t) if t is not None else None
        self.diags.error("Can not take the address of this expression", e.span,
                         "& applies to a field or element reached through a pointer, "
                         "a variable or a map")
        return None

    def addressable(self, e: nodes.Expr) -> bool:
        """Whether e names memory reached through a pointer (so it has an address)."""
        if isinstance(e, nodes.Unary) and e.op == "*":
            return True
        if isinstance(e, nodes.FieldAccess):
            base = self.cp.types.get(e.expr)
            return isinstance(base, PtrT) or (isinstance(base, StructT) and self.addressable(e.expr))
        if isinstance(e, nodes.Index):
            base = self.cp.types.get(e.expr)
            return isinstance(base, PtrT) or (isinstance(base, ArrayT | StrT)
                                              and self.addressable(e.expr))
        return False

    def pointer_user(self, t: PtrT) -> bool:
        """Whether a pointer points into user memory (its own mark, else the probe's)."""
        if t.user or t.kernel:
            return t.user
        return any(x.user_pointers for x in self.targets)

    def user_memory(self, e: nodes.Expr) -> bool:
        """Whether a field/element read is in user memory: the space of the pointer the
        access chain starts from."""
        while isinstance(e, nodes.FieldAccess | nodes.Index | nodes.Unary):
            inner = e.operand if isinstance(e, nodes.Unary) else e.expr
            base = self.cp.types.get(inner)
            if isinstance(base, PtrT):
                return self.pointer_user(base)
            e = inner
        return any(t.user_pointers for t in self.targets)

    # --------------------------------------------------------------- casts
    def e_Cast(self, e: nodes.Cast) -> Type | None:
        tn = e.type_name
        if tn.name in SIZED_CASTS and tn.pointer_depth == 0 and tn.array_size is not None:
            return self.sized_cast(e, SIZED_CASTS[tn.name], tn.array_size)
        src = self.value(e.expr)
        target = self.named_type(e.type_name)
        if src is None or target is None:
            return None
        if isinstance(target, ArrayT):
            return self.array_cast(e, src, target)
        if isinstance(src, ArrayT) and isinstance(target, IntT):
            if value_sizeof(src) != target.csize:
                self.diags.error(f"Cannot cast from '{src}' to '{target}': the sizes differ "
                                 f"({value_sizeof(src)} and {target.csize} bytes)", e.span)
                return None
            return target
        if isinstance(target, StructT):
            self.diags.error(f"Cannot cast to '{target}' (a struct; cast to a pointer "
                             f"'{target} *')", e.span)
            return None
        if not is_int(src) or not is_int(target):
            self.diags.error(f"Cannot cast from '{src}' to '{target}'", e.span)
            return None
        if isinstance(target, PtrT) and isinstance(src, PtrT) and (src.user or src.kernel):
            target = PtrT(target.pointee, user=src.user, ctype=target.ctype, kernel=src.kernel)
        elif isinstance(target, PtrT) and not isinstance(src, PtrT):
            target = self.int_to_pointer(e.expr, target)
        return target

    def sized_cast(self, e: nodes.Cast, reader: str, size: int) -> Type | None:
        """`(string[N])x` reads a string of capacity N as str(x, N) does; `(buffer[N])x`
        N bytes as buf(x, N)."""
        call = nodes.Call(reader, [e.expr, nodes.Int(size, span=e.type_name.span)],
                          span=e.span)
        self.cp.sized_casts[e] = call
        return self.expr(call)

    def int_to_pointer(self, e: nodes.Expr, target: PtrT) -> PtrT:
        """An integer cast to a pointer points where the pointer it was computed from
        pointed (`(struct mount *)((uint64)$p - 8)`); with no such pointer, tracepoint
        code reads kernel memory (only the args of syscall tracepoints are user memory)."""
        user = self.int_space(e)
        if user is None:
            if not self.targets or any(t.kind != "tracepoint" for t in self.targets):
                return target
            user = False
        return PtrT(target.pointee, user=user, ctype=target.ctype, kernel=not user)

    def int_space(self, e: nodes.Expr) -> bool | None:
        """The address space (True: user) an integer computed from a marked pointer
        keeps through casts, arithmetic and variables; None when nothing marks it."""
        t = self.cp.types.get(e)
        if isinstance(t, PtrT) and (t.user or t.kernel):
            return t.user
        if isinstance(e, nodes.Variable):
            return self.int_spaces.get((self.block, e.name))
        parts: list[nodes.Expr] = []
        if isinstance(e, nodes.Cast):
            parts = [e.expr]
        elif isinstance(e, nodes.Binary) and e.op in ("+", "-", "&", "|", "^"):
            parts = [e.left, e.right]
        elif isinstance(e, nodes.Ternary):
            parts = [e.then, e.otherwise]
        for part in parts:
            found = self.int_space(part)
            if found is not None:
                return found
        return None

    def array_cast(self, e: nodes.Cast, src: Type, target: ArrayT) -> Type | None:
        elem = target.elem
        if not isinstance(elem, IntT) or isinstance(elem, EnumT):
            self.diags.error(f"Cannot cast to '{target}': array casts need integer elements",
                             e.span)
            return None
        size = value_sizeof(src)
        if not (isinstance(src, IntT) or isinstance(src, ArrayT) and isinstance(src.elem, IntT)):
            self.diags.error(f"Cannot cast from '{src}' to '{target}'", e.span)
            return None
        want = target.csize
        if isinstance(src, IntT) and self.literal_fits(e.expr, want):
            size = want  # a literal is as wide as the array it is cast to
        if size != want:
            self.diags.error(f"Cannot cast from '{src}' to '{target}': the sizes differ "
                             f"({size} and {want} bytes)", e.span)
            return None
        return target

    def literal_fits(self, e: nodes.Expr, nbytes: int) -> bool:
        """`e` is an integer literal whose value fits in `nbytes` bytes (signed or not)."""
        value = self.const_int(e) if is_literal(e) else None
        return value is not None and nbytes in (1, 2, 4, 8) and \
            -(1 << (8 * nbytes - 1)) <= value < (1 << (8 * nbytes))

    # ---------------------------------------------------------- type builtins
    def type_or_expr(self, target: nodes.TypeName | nodes.Expr) -> Type | None:
        """The type a sizeof/offsetof argument names: a type, or an expression's type
        (a bare name that is no builtin or constant is read as a type name)."""
        t = self._type_or_expr(target)
        if t is not None and isinstance(target, nodes.Expr):
            self.lock(target)
        return t

    def lock(self, target: nodes.Expr) -> None:
        """The variables read in a type context keep the type they were read with."""
        for n in walk(target):
            if isinstance(n, nodes.Variable):
                key = (self.block, n.name)
                t = self.cp.types.get(n) or self.cp.variables.get(key)
                if t is not None:
                    self.locked.setdefault(key, t)

    def _type_or_expr(self, target: nodes.TypeName | nodes.Expr) -> Type | None:
        if isinstance(target, nodes.TypeName):
            return self.named_type(target)
        if isinstance(target, nodes.Typeof):
            return self.type_or_expr(target.target)
        if isinstance(target, nodes.Identifier) and target not in self.cp.constants \
                and builtins.identifier(target.name) is None:
            t = base_type(target.name, self.cp.type_table)
            if t is not None:
                return t
            if self.cp.type_table.enumerator(target.name) is None:
                unknown_type(target.name, target.span, self.cp.type_table, self.diags)
                return None
        if isinstance(target, nodes.Index) and isinstance(target.index, nodes.Int) \
                and isinstance(target.expr, nodes.Identifier) \
                and target.expr not in self.cp.constants \
                and builtins.identifier(target.expr.name) is None:
            elem = base_type(target.expr.name, self.cp.type_table)
            if elem is not None:  # sizeof(pid_t[2]): an array of a named type
                return ArrayT(elem, target.index.value)
        return self.value(target)

    def named_type(self, tn: nodes.TypeName) -> Type | None:
        """The type a written type stands for; a `typeof(...)` base is typed here (its
        expression is typed, never run)."""
        of = None
        if tn.of is not None:
            of = self.type_or_expr(tn.of.target)
            if of is None:
                return None
        return resolve_type(tn, self.cp.type_table, self.diags, of=of)

    def e_Typeof(self, e: nodes.Typeof) -> Type | None:
        self.diags.error("typeof() is a type: use it in a cast, a declaration "
                         "(let $x: typeof(...)), sizeof/offsetof or a macro argument", e.span)
        return None

    def e_Sizeof(self, e: nodes.Sizeof) -> Type | None:
        t = self.type_or_expr(e.target)
        if t is None:
            return None
        t = self.complete(t) or t
        if isinstance(t, StructT) and not t.is_complete:
            self.diags.error(f"Cannot take the size of incomplete type '{t}'", e.span)
            return None
        self.cp.constants[e] = value_sizeof(t)
        return U64

    def e_Typeinfo(self, e: nodes.Typeinfo) -> Type | None:
        t = self.type_or_expr(e.target)
        if t is None:
            return None
        info = typeinfo.describe(t, self.cp.type_table)
        record = typeinfo.record_expr(info, e.span)
        self.cp.typeinfos[e] = record
        self.cp.typeinfo_fields[e] = info
        return self.value(record)

    def e_Offsetof(self, e: nodes.Offsetof) -> Type | None:
        t = self.type_or_expr(e.type_name)
        if t is None:
            return None
        offset = 0
        for name in e.field_names:
            struct = self.complete(t)
            if not isinstance(struct, StructT) or not struct.fields:
                self.diags.error(f"offsetof() needs a struct or union, not '{t}'", e.span)
                return None
            found = struct.field(name)
            if found is None:
                self.diags.error(f"Struct/union of type '{struct}' does not contain a field "
                                 f"named '{name}'", e.span)
                return None
            t, offset = found[0], offset + found[1]
        self.cp.constants[e] = offset
        return U64


__all__ = ["MemoryTyper", "TupleT", "pointer_to", "reading"]
