"""BtfData: every kind decoded from hand-built blobs, split BTF, name lookups."""

from __future__ import annotations

import pytest
from btfbuild import BtfBuilder

from pytrace.btf import format as F
from pytrace.btf.reader import BtfData, build_offsets


def _base() -> tuple[BtfBuilder, dict[str, int]]:
    b = BtfBuilder()
    ids: dict[str, int] = {}
    ids["int"] = b.int_("int", 4, signed=True)
    ids["char"] = b.int_("char", 1, signed=True, char=True)
    ids["bool"] = b.int_("_Bool", 1, boolean=True)
    ids["ulong"] = b.int_("long unsigned int", 8)
    ids["ptr_char"] = b.ptr(ids["char"])
    ids["arr"] = b.array(ids["char"], ids["int"], 16)
    ids["task"] = b.struct("task", 32, [("pid", ids["int"], 0, 0), ("comm", ids["arr"], 32, 0),
                                        ("flags", ids["int"], 160, 3),
                                        ("more", ids["int"], 163, 5)])
    ids["u"] = b.struct("u", 8, [("a", ids["int"], 0, 0), ("b", ids["ulong"], 0, 0)], union=True)
    ids["enum"] = b.enum("color", 4, [("RED", 0), ("NEG", -1)], signed=True)
    ids["enum64"] = b.enum64("big", [("HUGE", 1 << 40), ("MAX", (1 << 64) - 1)])
    ids["fwd"] = b.fwd("opaque", union=True)
    ids["td"] = b.typedef("task_t", ids["task"])
    ids["const"] = b.modifier(F.CONST, ids["int"])
    ids["volatile"] = b.modifier(F.VOLATILE, ids["const"])
    ids["restrict"] = b.modifier(F.RESTRICT, ids["ptr_char"])
    ids["tag"] = b.modifier(F.TYPE_TAG, ids["char"], "user")
    ids["proto"] = b.func_proto(ids["int"], [("t", b.ptr(ids["task"])), ("", 0)])
    ids["func"] = b.func("do_task", ids["proto"])
    ids["var"] = b.var("jiffies", ids["ulong"])
    ids["sec"] = b.datasec(".data", 8, [(ids["var"], 0, 8)])
    ids["float"] = b.float_("double", 8)
    ids["decl_tag"] = b.decl_tag("kfunc", ids["func"], -1)
    return b, ids


def test_every_kind_decodes() -> None:
    b, ids = _base()
    btf = BtfData("vmlinux", b.blob())
    assert btf.end_id == b.next_id
    t = btf.type(ids["int"])
    assert (t.kind, t.size, t.bits, t.signed, t.name) == (F.INT, 4, 32, True, "int")
    assert btf.type(ids["char"]).encoding & F.INT_CHAR
    assert btf.type(ids["bool"]).encoding & F.INT_BOOL
    assert btf.type(ids["ptr_char"]).ref == ids["char"]
    arr = btf.type(ids["arr"])
    assert (arr.ref, arr.index_type, arr.nelems) == (ids["char"], ids["int"], 16)
    task = btf.type(ids["task"])
    assert task.kflag and [m.name for m in task.members] == ["pid", "comm", "flags", "more"]
    assert (task.members[2].bit_offset, task.members[2].bit_size) == (160, 3)
    assert (task.members[3].bit_offset, task.members[3].bit_size) == (163, 5)
    u = btf.type(ids["u"])
    assert u.kind == F.UNION and not u.kflag and u.members[1].bit_offset == 0
    assert btf.type(ids["enum"]).values == (("RED", 0), ("NEG", -1))
    assert btf.type(ids["enum64"]).values == (("HUGE", 1 << 40), ("MAX", (1 << 64) - 1))
    assert btf.type(ids["fwd"]).kflag
    assert btf.type(ids["td"]).ref == ids["task"]
    assert [btf.type(ids[k]).kind for k in ("const", "volatile", "restrict", "tag")] == \
        [F.CONST, F.VOLATILE, F.RESTRICT, F.TYPE_TAG]
    assert btf.type(ids["tag"]).name == "user"
    proto = btf.type(ids["proto"])
    assert proto.ref == ids["int"] and proto.params[0][0] == "t" and proto.params[1] == ("", 0)
    assert btf.type(ids["func"]).ref == ids["proto"] and btf.type(ids["func"]).linkage == 1
    assert btf.type(ids["var"]).linkage == 1
    assert btf.type(ids["sec"]).vars == ((ids["var"], 0, 8),)
    assert btf.type(ids["float"]).size == 8
    assert btf.type(ids["decl_tag"]).component_idx == -1
    assert btf.type(0).name == "void"


def test_names_are_found_through_the_string_section() -> None:
    b, ids = _base()
    btf = BtfData("vmlinux", b.blob())
    assert btf.ids_named("task") == [ids["task"]]
    assert btf.ids_named("task_t") == [ids["td"]]
    assert btf.ids_named("nothing") == [] and btf.ids_named("") == []
    # a member named like a type, and a size equal to a name's offset, are not types
    assert btf.ids_named("pid") == [] and btf.ids_named("comm") == []
    assert sorted(btf.strings_matching(rb"ta[^\0]*").values()) == [b"task", b"task_t"]
    assert list(btf.named_ids(frozenset({F.TYPEDEF}))) == [ids["td"]]


def test_two_types_with_one_name() -> None:
    b = BtfBuilder()
    i = b.int_("int", 4, signed=True)
    s1 = b.struct("dup", 4, [("a", i, 0, 0)])
    s2 = b.struct("dup", 8, [("a", i, 0, 0), ("b", i, 32, 0)])
    td = b.typedef("dup", s1)
    assert BtfData("vmlinux", b.blob()).ids_named("dup") == [s1, s2, td]


def test_split_btf_continues_base_ids_and_strings() -> None:
    b, ids = _base()
    base = BtfData("vmlinux", b.blob())
    m = BtfBuilder(base=b)
    mod_struct = m.struct("mod_thing", 16, [("t", m.ptr(ids["task"]), 0, 0),
                                             ("pid", ids["int"], 64, 0)])
    mod = BtfData("mymod", m.blob(), base=base)
    assert mod.first_id == base.end_id
    t = mod.type(mod_struct)
    assert t.name == "mod_thing" and [x.name for x in t.members] == ["t", "pid"]
    assert mod.type(ids["task"]).name == "task"  # base ids resolve through the module
    assert mod.ids_named("mod_thing") == [mod_struct]
    assert mod.ids_named("task") == []  # a module's index holds its own types only


def test_bad_blobs_are_refused() -> None:
    with pytest.raises(F.BtfFormatError):
        BtfData("x", b"\0" * 8)
    b, _ = _base()
    blob = bytearray(b.blob())
    blob[0] = 0
    with pytest.raises(F.BtfFormatError):
        BtfData("x", bytes(blob))
    with pytest.raises(F.BtfFormatError):
        build_offsets(memoryview(bytes(b.blob())[24:36]).cast("I")[:2])
    with pytest.raises(KeyError):
        BtfData("x", b.blob()).type(10_000)


def test_vmlinux_task_struct(kernel) -> None:  # type: ignore[no-untyped-def]
    ref = kernel.find("struct task_struct")
    assert ref is not None
    t = ref.type
    names = [m.name for m in t.members]
    assert t.size > 1000 and {"pid", "tgid", "comm", "real_parent", "mm"} <= set(names)
    pid = t.members[names.index("pid")]
    assert kernel.vmlinux.type(pid.type_id).name == "pid_t"
