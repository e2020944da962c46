"""Types written in the source (`uint8`, `int32`, `struct task_struct *`) as pytrace types."""

from __future__ import annotations

from pytrace import nodes
from pytrace.diagnostics import Diagnostics
from pytrace.types import DEFAULT_STRLEN, IntT, PtrT, StrT, StructT, Type

INT_NAMES: dict[str, IntT] = {
    **{f"int{b}": IntT(b, True) for b in (8, 16, 32, 64)},
    **{f"uint{b}": IntT(b, False) for b in (8, 16, 32, 64)},
    **{f"s{b}": IntT(b, True) for b in (8, 16, 32, 64)},
    **{f"u{b}": IntT(b, False) for b in (8, 16, 32, 64)},
    **{f"__s{b}": IntT(b, True) for b in (8, 16, 32, 64)},
    **{f"__u{b}": IntT(b, False) for b in (8, 16, 32, 64)},
    "char": IntT(8, True), "signed char": IntT(8, True), "unsigned char": IntT(8, False),
    "short": IntT(16, True), "unsigned short": IntT(16, False),
    "int": IntT(32, True), "signed int": IntT(32, True), "signed": IntT(32, True),
    "unsigned": IntT(32, False), "unsigned int": IntT(32, False),
    "long": IntT(64, True), "unsigned long": IntT(64, False),
    "long long": IntT(64, True), "unsigned long long": IntT(64, False),
    "bool": IntT(8, False), "_Bool": IntT(8, False),
    "size_t": IntT(64, False), "ssize_t": IntT(64, True), "pid_t": IntT(32, True),
    "uid_t": IntT(32, False), "gid_t": IntT(32, False), "void": IntT(64, False),
}


def base_type(name: str) -> Type | None:
    """The type a base name (without pointers or arrays) stands for, None if unknown."""
    norm = " ".join(name.split())
    if norm in INT_NAMES and norm != "void":
        return INT_NAMES[norm]
    if norm.startswith(("struct ", "union ")):
        return StructT(norm)
    return None


def cast_type(tn: nodes.TypeName, diags: Diagnostics) -> Type | None:
    """The type of a cast `(T)x`; pointers of any base are allowed, arrays are not."""
    name = " ".join(tn.name.split())
    if tn.array_size is not None:
        diags.error(f"Cannot cast to an array type '{name}[{tn.array_size}]'", tn.span)
        return None
    if tn.pointer_depth > 0:
        base = None if name == "void" else base_type(name)
        if base is None and name != "void" and name not in INT_NAMES:
            diags.error(f"Unknown type: '{name}'", tn.span)
            return None
        pointee: Type | None = base
        for _ in range(tn.pointer_depth - 1):
            pointee = PtrT(pointee)
        return PtrT(pointee, user=False, ctype=f"{name} {'*' * tn.pointer_depth}")
    base = base_type(name)
    if base is None or not isinstance(base, IntT):
        diags.error(f"Cannot cast to '{name}'" if base else f"Unknown type: '{name}'", tn.span)
        return None
    return base


def sizeof_type(tn: nodes.TypeName, diags: Diagnostics) -> int | None:
    """sizeof(T) in bytes for integer and pointer types (structs need BTF)."""
    name = " ".join(tn.name.split())
    if tn.pointer_depth > 0:
        size = 8
    else:
        base = base_type(name)
        if not isinstance(base, IntT):
            diags.error(f"Unknown type: '{name}'" if base is None else
                        f"sizeof('{name}') needs struct layouts from BTF", tn.span)
            return None
        size = base.bits // 8
    return size * (tn.array_size or 1)


def decl_type(tn: nodes.TypeName, value: Type | None, diags: Diagnostics) -> Type | None:
    """The type of `let $x: T`: an integer or pointer type as in a cast, or `string`
    (`string[N]`: N bytes; plain `string`: the value's size, else 64)."""
    name = " ".join(tn.name.split())
    if name == "string" and tn.pointer_depth == 0:
        if tn.array_size is not None:
            return StrT(tn.array_size)
        return value if isinstance(value, StrT) else StrT(DEFAULT_STRLEN)
    return cast_type(tn, diags)
