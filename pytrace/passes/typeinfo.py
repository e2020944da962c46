"""`typeinfo(T)`: the record a type is described by, built when the program is compiled.

The record is `(btf_id, base_ty, full_ty)`: the kernel BTF id of a struct, union or enum
found in the running kernel's BTF (0 for every other type), the kind of the type (one
word, see KINDS) and its full name as bpftrace spells it (`uint64`, `string[5]`,
`struct task_struct *`). The typecheck pass types a RecordExpr of literals in place of
the call; codegen emits that record, so the argument is never evaluated at run time.
"""

from __future__ import annotations

from pytrace import nodes
from pytrace.source import Span
from pytrace.types import (
    AggT,
    ArrayT,
    BoolT,
    BufT,
    EnumT,
    IntT,
    PtrT,
    RecordT,
    StackT,
    StrT,
    StructT,
    TupleT,
    Type,
    VoidT,
)
from pytrace.typetable import TypeTable

# base_ty of each type class (the first match wins: BoolT and EnumT before IntT)
KINDS: tuple[tuple[type, str], ...] = (
    (BoolT, "bool"), (EnumT, "enum"), (IntT, "int"), (StrT, "string"), (BufT, "buffer"),
    (TupleT, "tuple"), (RecordT, "record"), (PtrT, "pointer"), (ArrayT, "array"),
    (StackT, "stack"), (AggT, "aggregation"), (VoidT, "void"),
)


def base_kind(t: Type) -> str:
    """The one-word kind of a type ("int", "string", "struct", "union", "pointer"...)."""
    if isinstance(t, StructT):
        return "union" if t.union else "struct"
    for cls, word in KINDS:
        if isinstance(t, cls):
            return word
    return type(t).__name__.removesuffix("T").lower()


def btf_id(t: Type, table: TypeTable) -> int:
    """The vmlinux BTF id of a named struct, union or enum that came from kernel BTF."""
    name = t.name if isinstance(t, StructT | EnumT) else ""
    if not name or name in table.defined or table.btf() is None:
        return 0
    from pytrace.btf import running_btf

    kernel = running_btf()
    ref = kernel.find(name) if kernel is not None else None
    return ref.id if ref is not None and kernel is not None and ref.btf is kernel.vmlinux \
        else 0


def describe(t: Type, table: TypeTable) -> dict[str, int | str]:
    """The typeinfo fields of `t`, by name."""
    return {"btf_id": btf_id(t, table), "base_ty": base_kind(t), "full_ty": str(t)}


def record_expr(info: dict[str, int | str], span: Span) -> nodes.RecordExpr:
    """The record literal typeinfo stands for (btf_id is a uint32)."""
    fields: list[tuple[str, nodes.Expr]] = []
    for name, value in info.items():
        if isinstance(value, int):
            lit: nodes.Expr = nodes.Cast(nodes.TypeName("uint32", span=span),
                                         nodes.Int(value, span=span), span=span)
        else:
            lit = nodes.Str(value, span=span)
        fields.append((name, lit))
    return nodes.RecordExpr(fields, span=span)
