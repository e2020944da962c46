"""Types written in the source (`uint8`, `int32[4]`, `struct task_struct *`, `u64`) as
pytrace types: bpftrace's own names first, then the TypeTable (the program's C
definitions, C base names, kernel BTF)."""

from __future__ import annotations

from pytrace import nodes
from pytrace.diagnostics import Diagnostics
from pytrace.types import ArrayT, BoolT, IntT, PtrT, StrT, StructT, Type
from pytrace.typetable import TypeTable

INT_NAMES: dict[str, Type] = {
    **{f"int{b}": IntT(b, True) for b in (8, 16, 32, 64)},
    **{f"uint{b}": IntT(b, False) for b in (8, 16, 32, 64)},
    **{f"s{b}": IntT(b, True) for b in (8, 16, 32, 64)},
    **{f"u{b}": IntT(b, False) for b in (8, 16, 32, 64)},
    **{f"__s{b}": IntT(b, True) for b in (8, 16, 32, 64)},
    **{f"__u{b}": IntT(b, False) for b in (8, 16, 32, 64)},
    **{f"int{b}_t": IntT(b, True) for b in (8, 16, 32, 64)},
    **{f"uint{b}_t": IntT(b, False) for b in (8, 16, 32, 64)},
    "char": IntT(8, True), "signed char": IntT(8, True), "unsigned char": IntT(8, False),
    "short": IntT(16, True), "unsigned short": IntT(16, False),
    "int": IntT(32, True), "signed int": IntT(32, True), "signed": IntT(32, True),
    "unsigned": IntT(32, False), "unsigned int": IntT(32, False),
    "long": IntT(64, True), "unsigned long": IntT(64, False),
    "long long": IntT(64, True), "unsigned long long": IntT(64, False),
    "bool": BoolT(), "_Bool": BoolT(),
    "size_t": IntT(64, False), "ssize_t": IntT(64, True), "pid_t": IntT(32, True),
    "uid_t": IntT(32, False), "gid_t": IntT(32, False),
}


def _norm(name: str) -> str:
    return " ".join(name.split())


def unknown_type(name: str, span: object, table: TypeTable, diags: Diagnostics) -> None:
    """The error for a type nobody defines, with close names as a hint."""
    close = table.suggestions(name)
    hints = (f"did you mean: {', '.join(close)}?",) if close else ()
    if name.startswith(("struct ", "union ")):
        diags.error(f"Unknown struct/union: '{name}'", span, *hints)  # type: ignore[arg-type]
    else:
        diags.error(f"Unknown type: '{name}'", span, *hints)  # type: ignore[arg-type]


def base_type(name: str, table: TypeTable | None = None) -> Type | None:
    """The type a base name (without pointers or arrays) stands for, None if unknown.
    A struct or union is returned complete (with its members)."""
    norm = _norm(name)
    if norm in INT_NAMES:
        return INT_NAMES[norm]
    if table is None:
        return StructT(norm) if norm.startswith(("struct ", "union ")) else None
    return table.lookup(norm)


def resolve_type(tn: nodes.TypeName, table: TypeTable, diags: Diagnostics,
                 allow_array: bool = True, of: Type | None = None) -> Type | None:
    """The type a TypeName stands for (located errors for unknown names); `of`: the type
    its `typeof(...)` base stands for (the caller types that)."""
    if tn.of is not None:
        return None if of is None else declarators(of, tn, diags, allow_array)
    name = _norm(tn.name)
    if name in ("string", "inet", "buffer"):
        if name == "string" and tn.pointer_depth == 0:
            return StrT(tn.array_size or 64)
        diags.error(f"Cannot use type '{name}' here", tn.span)
        return None
    t: Type | None
    if name == "void":
        if tn.pointer_depth == 0:
            diags.error("Cannot use type 'void' here", tn.span)
            return None
        t = None
    else:
        t = base_type(name, table)
        if t is None:
            unknown_type(name, tn.span, table, diags)
            return None
    return declarators(t, tn, diags, allow_array)


def declarators(t: Type | None, tn: nodes.TypeName, diags: Diagnostics,
                allow_array: bool = True) -> Type | None:
    """Base type t (None: void) with tn's pointer stars and array size applied."""
    name = _norm(tn.name)
    if tn.pointer_depth:
        pointee: Type | None = t
        if isinstance(t, StructT) and t.name:
            pointee = StructT(t.name, union=t.union)  # pointers hold references
        for _ in range(tn.pointer_depth - 1):
            pointee = PtrT(pointee, ctype=_spell(pointee) + " *")
        t = PtrT(pointee, ctype=_spell(pointee) + " *")
    if tn.array_size is not None:
        if not allow_array and not tn.outer_pointers:
            diags.error(f"Cannot use an array type '{name}[{tn.array_size}]' here", tn.span)
            return None
        assert t is not None
        t = ArrayT(t, tn.array_size)
        for _ in range(tn.outer_pointers):
            t = PtrT(t, ctype=_spell(t) + " *")
    return t


def _spell(t: Type | None) -> str:
    if t is None:
        return "void"
    if isinstance(t, PtrT):
        return t.ctype.rstrip() if t.ctype else _spell(t.pointee) + " *"
    return str(t)


def cast_type(tn: nodes.TypeName, diags: Diagnostics, table: TypeTable | None = None) -> Type | None:
    """The type of a cast `(T)x` or a declaration `let $x: T`."""
    return resolve_type(tn, table if table is not None else TypeTable(btf=False), diags)


def sizeof_type(tn: nodes.TypeName, diags: Diagnostics, table: TypeTable | None = None) -> int | None:
    """sizeof(T) in bytes."""
    from pytrace.types import value_sizeof

    t = resolve_type(tn, table if table is not None else TypeTable(btf=False), diags)
    if t is None:
        return None
    if isinstance(t, StructT) and not t.is_complete:
        diags.error(f"Cannot take the size of incomplete type '{t}'", tn.span)
        return None
    return value_sizeof(t)


def decl_type(tn: nodes.TypeName, value: Type | None, diags: Diagnostics,
              table: TypeTable | None = None, of: Type | None = None) -> Type | None:
    """The type of `let $x: T`: any type a cast names; a plain `string` takes the size
    of the value it is declared with (64 bytes without one)."""
    name = " ".join(tn.name.split())
    if name == "string" and tn.pointer_depth == 0 and tn.array_size is None:
        return value if isinstance(value, StrT) else StrT(64)
    return resolve_type(tn, table if table is not None else TypeTable(btf=False), diags,
                        of=of)
