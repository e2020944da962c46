"""C text for BTF types, in libbpf's dumper spelling (what bpftrace -lv prints)."""

from __future__ import annotations

from btfbuild import BtfBuilder

from pytrace.btf import format as F
from pytrace.btf.cdecl import definition, type_name
from pytrace.btf.reader import BtfData


def _blob() -> tuple[BtfData, dict[str, int]]:
    b = BtfBuilder()
    ids: dict[str, int] = {}
    i = b.int_("int", 4, signed=True)
    c = b.int_("char", 1, signed=True)
    ul = b.int_("long unsigned int", 8)
    cb = b.struct("callback_head", 0, [])
    ids["cb"] = cb
    fproto = b.func_proto(0, [("", b.ptr(cb))])
    noargs = b.func_proto(i, [])
    anon_u = b.struct("", 8, [("a", i, 0, 0), ("b", ul, 0, 0)], union=True)
    ids["s"] = b.struct("demo", 64, [
        ("comm", b.array(c, i, 16), 0, 0), ("name", b.ptr(b.modifier(F.CONST, c)), 128, 0),
        ("func", b.ptr(fproto), 192, 0), ("probe", b.ptr(noargs), 256, 0),
        ("flag", i, 320, 1), ("flag2", i, 352, 4), ("", anon_u, 384, 0),
        ("grid", b.array(b.array(i, i, 2), i, 1), 448, 0)])
    ids["packed"] = b.struct("pk", 5, [("c", c, 0, 0), ("x", i, 8, 0)])
    ids["enum"] = b.enum("color", 4, [("RED", 0), ("NEG", -1)], signed=True)
    ids["small"] = b.enum("tiny", 1, [("A", 1)])
    ids["e64"] = b.enum64("wide", [("BIG", 1 << 40)])
    ids["ptr"] = b.ptr(b.modifier(F.CONST, ids["s"]))
    return BtfData("vmlinux", b.blob()), ids


def test_struct_definition_text() -> None:
    btf, ids = _blob()
    assert definition(btf, ids["s"]) == "\n".join([
        "struct demo {",
        "\tchar comm[16];",
        "\tconst char *name;",
        "\tvoid (*func)(struct callback_head *);",
        "\tint (*probe)();",
        "\tint flag: 1;",
        "\tint: 31;",
        "\tint flag2: 4;",
        "\tunion {",
        "\t\tint a;",
        "\t\tlong unsigned int b;",
        "\t};",
        "\tint grid[1][2];",
        "};"])


def test_packed_empty_and_enums() -> None:
    btf, ids = _blob()
    assert definition(btf, ids["packed"]) == \
        "struct pk {\n\tchar c;\n\tint x;\n} __attribute__((packed));"
    assert definition(btf, ids["cb"]) == "struct callback_head {};"
    assert definition(btf, ids["enum"]) == "enum color {\n\tRED = 0,\n\tNEG = -1,\n};"
    assert definition(btf, ids["small"]).endswith("} __attribute__((mode(byte)));")
    assert definition(btf, ids["e64"]) == "enum wide {\n\tBIG = 1099511627776ULL,\n};"


def test_type_names() -> None:
    btf, ids = _blob()
    assert type_name(btf, ids["ptr"]) == "const struct demo *"
    assert type_name(btf, 0) == "void"


def test_kernel_list_head(kernel) -> None:  # type: ignore[no-untyped-def]
    ref = kernel.find("struct list_head")
    assert definition(ref.btf, ref.id) == \
        "struct list_head {\n\tstruct list_head *next;\n\tstruct list_head *prev;\n};"
