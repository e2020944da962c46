"""BTF types as model types: ints, bools, chars, enums, bitfields, pointers, structs."""

from __future__ import annotations

from btfbuild import BtfBuilder

from pytrace.btf import format as F
from pytrace.btf.convert import Converter
from pytrace.btf.reader import BtfData
from pytrace.types import (
    ArrayT,
    BitfieldT,
    BoolT,
    EnumT,
    FuncProtoT,
    IntT,
    OpaqueT,
    PtrT,
    StrT,
    StructT,
)


def _conv() -> tuple[Converter, dict[str, int]]:
    b = BtfBuilder()
    ids: dict[str, int] = {}
    ids["int"] = i = b.int_("int", 4, signed=True)
    ids["char"] = c = b.int_("char", 1)  # kernel BTF: char has no SIGNED bit
    ids["u8"] = u8 = b.typedef("u8", b.int_("unsigned char", 1))
    ids["bool"] = b.int_("_Bool", 1, boolean=True)
    ids["u64"] = u64 = b.typedef("u64", b.int_("long long unsigned int", 8))
    node = b.fwd("node")
    user_char = b.modifier(F.TYPE_TAG, b.modifier(F.CONST, c), "user")
    anon = b.struct("", 8, [("x", i, 0, 0), ("y", i, 32, 0)])
    ids["s"] = b.struct("s", 48, [
        ("a", i, 0, 0), ("name", b.array(c, i, 8), 32, 0), ("bytes", b.array(u8, i, 4), 96, 0),
        ("lo", i, 128, 3), ("hi", i, 131, 29), ("next", b.ptr(ids.get("s", 0) or node), 192, 0),
        ("", anon, 256, 0), ("ustr", b.ptr(user_char), 320, 0)])
    ids["enum"] = b.enum("color", 4, [("RED", 0), ("BLUE", 2)])
    ids["proto"] = b.func_proto(u64, [("s", b.ptr(ids["s"])), ("", 0)])
    ids["fptr"] = b.ptr(ids["proto"])
    ids["float"] = b.float_("double", 8)
    ids["u"] = b.struct("u", 8, [("i", i, 0, 0), ("l", u64, 0, 0)], union=True)
    return Converter(BtfData("vmlinux", b.blob())), ids


def test_scalars() -> None:
    c, ids = _conv()
    assert c.convert(ids["int"]) == IntT(32, True)
    assert c.convert(ids["char"]) == IntT(8, True)
    assert c.convert(ids["u8"]) == IntT(8, False)
    assert c.convert(ids["bool"]) == BoolT()
    assert c.convert(ids["u64"]) == IntT(64, False)
    assert c.convert(ids["enum"]) == EnumT(32, False, "enum color", (("RED", 0), ("BLUE", 2)))
    assert isinstance(c.convert(ids["float"]), OpaqueT)
    assert c.convert(0) is None


def test_struct_layout_and_members() -> None:
    c, ids = _conv()
    s = c.convert(ids["s"])
    assert isinstance(s, StructT) and s.name == "struct s" and s.csize == 48
    assert s.field("a") == (IntT(32, True), 0)
    assert s.field("name") == (StrT(8), 4)  # char arrays are strings
    assert s.field("bytes") == (ArrayT(IntT(8, False), 4), 12)
    assert s.field("lo") == (BitfieldT(32, True, 0, 3), 16)
    assert s.field("hi") == (BitfieldT(32, True, 3, 29), 16)
    nxt = s.field("next")
    assert nxt is not None and isinstance(nxt[0], PtrT) and nxt[1] == 24
    assert nxt[0].pointee == StructT("struct node")  # a reference, completed on demand
    assert s.field("y") == (IntT(32, True), 36)  # through the anonymous member
    ustr = s.field("ustr")
    assert ustr is not None and ustr[0] == PtrT(IntT(8, True), user=True, ctype="const char *")
    assert "x" in s.field_names() and "" not in s.field_names()
    u = c.convert(ids["u"])
    assert isinstance(u, StructT) and u.union and u.field("l") == (IntT(64, False), 0)


def test_function_prototypes() -> None:
    c, ids = _conv()
    p = c.convert(ids["proto"])
    assert isinstance(p, FuncProtoT) and p.ret == IntT(64, False) and p.variadic
    assert [n for n, _ in p.params] == ["s"]
    f = c.convert(ids["fptr"])
    assert isinstance(f, PtrT) and isinstance(f.pointee, FuncProtoT)


def test_task_struct_from_the_kernel(kernel) -> None:  # type: ignore[no-untyped-def]
    ref = kernel.find("struct task_struct")
    t = Converter(ref.btf).convert(ref.id)
    assert isinstance(t, StructT) and t.csize == ref.type.size
    pid_t, pid_off = t.field("pid")
    assert pid_t == IntT(32, True) and pid_off == ref.type.members[
        [m.name for m in ref.type.members].index("pid")].bit_offset // 8
    assert t.field("comm")[0] == StrT(16)
    parent = t.field("real_parent")[0]
    assert isinstance(parent, PtrT) and parent.pointee == StructT("struct task_struct")
    assert parent.ctype == "struct task_struct *"
    se = t.field("se")[0]  # embedded: shallow (name, size), members on demand
    assert isinstance(se, StructT) and se.name == "struct sched_entity" and not se.fields
    full = Converter(ref.btf).convert(kernel.find("struct sched_entity").id)
    assert isinstance(full, StructT) and full.csize == se.csize and full.calign == se.calign
    assert full.field("vruntime")[0] == IntT(64, False)
