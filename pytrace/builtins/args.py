"""Types of `args.f` / `args->f`: tracepoint format fields, unified over a block's targets."""

from __future__ import annotations

from collections.abc import Sequence

from pytrace.diagnostics import Diagnostics
from pytrace.probes.target import ProbeTarget, TpField
from pytrace.source import Span
from pytrace.types import ArrayT, IntT, PtrT, StrT, Type, unify


def field_type(f: TpField, user: bool) -> Type:
    """The pytrace type of one tracepoint field."""
    ctype = " ".join(f.ctype.replace("*", " * ").split())
    if f.data_loc:
        return StrT(64)
    if f.array_len is not None:
        elem_size = max(1, f.size // max(1, f.array_len))
        if ctype.startswith("char") or ctype.startswith("unsigned char") or \
                ctype.startswith("signed char"):
            return StrT(f.array_len)
        return ArrayT(IntT(elem_size * 8, f.signed), f.array_len)
    if "*" in ctype:
        if f.is_string_pointer and ctype.count("*") == 1:
            return PtrT(IntT(8, True), user=user, ctype=f.ctype)
        return PtrT(None, user=user, ctype=f.ctype)
    bits = 64 if f.size >= 8 else f.size * 8
    return IntT(bits if bits in (8, 16, 32, 64) else 64, f.signed)


def args_field(targets: Sequence[ProbeTarget], name: str, span: Span,
               diags: Diagnostics) -> Type | None:
    """The type of `args.name` in a block attached to `targets` (None after an error)."""
    result: Type | None = None
    for t in targets:
        if t.kind != "tracepoint":
            continue
        f = t.field_named(name)
        if f is None:
            tp = t.name.removeprefix("tracepoint:")
            diags.error(f"Struct/union of type 'struct _tracepoint_{tp.replace(':', '_')}' "
                        f"does not contain a field named '{name}'", span,
                        f"tracepoint {tp} has fields: " + ", ".join(x.name for x in t.fields))
            return None
        ft = field_type(f, t.user_pointers)
        if result is None:
            result = ft
            continue
        merged = unify(result, ft)
        if merged is None and isinstance(result, PtrT) and isinstance(ft, PtrT):
            merged = result
        if merged is None:
            diags.error(f"args.{name} has different types in the probes of this block: "
                        f"'{result}' and '{ft}'", span)
            return None
        result = merged
    return result
