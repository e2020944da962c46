"""pycparser declarations as model types: every declarator form, constants, errors."""

from __future__ import annotations

import pytest

from pytrace.cdefs.errors import CDefsError
from pytrace.cdefs.parse import parse_declarations, type_name_candidates
from pytrace.types import (
    ArrayT,
    BoolT,
    EnumT,
    FuncProtoT,
    IntT,
    PtrT,
    StrT,
    StructT,
    Type,
)

EXTERNAL: dict[str, Type] = {"u64": IntT(64, False), "struct ext": StructT("struct ext", 16, (
    ("v", IntT(64, False), 0), ("w", IntT(64, False), 8)))}


def _decls(text: str):  # type: ignore[no-untyped-def]
    return parse_declarations(text, "stdin", EXTERNAL.get)


def test_declarator_forms() -> None:
    d = _decls("""
        typedef unsigned short port_t;
        struct node;
        struct all {
            port_t port;
            u64 from_outside;
            struct ext embedded;
            struct node *next;
            struct all *self;
            const char *name;
            char buf[2 * 4];
            int grid[2][3];
            void (*cb)(int, struct all *);
            _Bool ok;
            unsigned long long big;
            signed char sc;
            void *opaque;
        };
        """)
    t = d.types["struct all"]
    assert isinstance(t, StructT)
    f = {n: ft for n, ft, _ in t.fields}
    assert f["port"] == IntT(16, False) and f["from_outside"] == IntT(64, False)
    assert f["embedded"] == EXTERNAL["struct ext"]
    assert f["next"] == PtrT(StructT("struct node"), ctype="struct node *")
    assert f["self"] == PtrT(StructT("struct all"), ctype="struct all *")
    assert f["name"] == PtrT(IntT(8, True), ctype="int8 *")
    assert f["buf"] == StrT(8) and f["grid"] == ArrayT(ArrayT(IntT(32, True), 3), 2)
    cb = f["cb"]
    assert isinstance(cb, PtrT) and isinstance(cb.pointee, FuncProtoT)
    assert len(cb.pointee.params) == 2 and cb.pointee.ret is None
    assert f["ok"] == BoolT() and f["big"] == IntT(64, False) and f["sc"] == IntT(8, True)
    assert f["opaque"] == PtrT(None, ctype="void *")
    assert d.types["port_t"] == IntT(16, False)


def test_enums_and_constant_expressions() -> None:
    d = _decls("""
        enum flags { F_A = 1 << 0, F_B = 1 << 3, F_C, F_ALL = F_A | F_B | F_C };
        enum neg { N_LOW = -5, N_HIGH = 5 };
        enum { ANON = sizeof(int) * 2 };
        struct sized { char x[F_C + 1]; int y : (F_B - 3); };
        """)
    flags = d.types["enum flags"]
    assert isinstance(flags, EnumT) and flags.values == (
        ("F_A", 1), ("F_B", 8), ("F_C", 9), ("F_ALL", 9))
    assert not flags.signed and d.types["enum neg"].signed  # type: ignore[attr-defined]
    assert d.enumerators["ANON"][1] == 8 and d.enumerators["F_C"][0] == flags
    sized = d.types["struct sized"]
    assert isinstance(sized, StructT) and sized.field("x")[0] == StrT(10)  # type: ignore[index]


def test_unions_and_nested_definitions() -> None:
    d = _decls("union u { int i; char c[8]; struct { int a, b; } pair; };")
    u = d.types["union u"]
    assert isinstance(u, StructT) and u.union and u.csize == 8
    assert all(off == 0 for _, _, off in u.fields)
    pair = u.field("pair")[0]  # type: ignore[index]
    assert isinstance(pair, StructT) and pair.field("b") == (IntT(32, True), 4)


def test_candidates_for_placeholder_typedefs() -> None:
    found = type_name_candidates("struct s { u64 a; pid_t *b; struct x y; };\n"
                                 "int f(u32, my_t *);\n#define Z foo bar\n")
    assert {"u64", "pid_t", "u32", "my_t"} <= found
    assert not found & {"x", "int", "struct", "foo"}


def test_errors_are_located() -> None:
    with pytest.raises(CDefsError) as err:
        _decls("\n\nstruct s {\n  int a;\n  blah b;\n};")
    assert err.value.message == "unknown type name 'blah'" and err.value.line == 5
    with pytest.raises(CDefsError) as err:
        _decls("struct s { int a }")
    assert err.value.line == 1 and err.value.file == "stdin"
    with pytest.raises(CDefsError) as err:
        _decls("struct s { struct nowhere n; };")
    assert "incomplete type 'struct nowhere'" in err.value.message
    with pytest.raises(CDefsError) as err:
        _decls("struct s { char c[N]; };")
    assert "undeclared identifier 'N'" in err.value.message
