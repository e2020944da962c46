"""typeinfo() records and `if comptime` branches (pytrace/passes/typeinfo.py and the
typecheck pass)."""

from __future__ import annotations

from pytrace import nodes
from pytrace.passes.context import CheckedProgram
from pytrace.passes.typeinfo import base_kind, btf_id, describe
from pytrace.types import BoolT, IntT, PtrT, StrT, StructT, TupleT
from pytrace.typetable import TypeTable


def fields(cp: CheckedProgram) -> list[dict[str, int | str]]:
    return list(cp.typeinfo_fields.values())


def test_kinds_and_full_names() -> None:
    table = TypeTable(btf=False)
    assert describe(IntT(64, False), table) == {"btf_id": 0, "base_ty": "int",
                                                "full_ty": "uint64"}
    assert describe(StrT(5), table)["full_ty"] == "string[5]"
    assert base_kind(BoolT()) == "bool"
    assert base_kind(TupleT((IntT(8, True),))) == "tuple"
    assert base_kind(PtrT(StructT("struct x"))) == "pointer"
    assert base_kind(StructT("union u", union=True)) == "union"


def test_btf_id_is_zero_without_kernel_btf() -> None:
    assert btf_id(StructT("struct task_struct"), TypeTable(btf=False)) == 0


def test_kernel_struct_has_its_btf_id(checked) -> None:
    cp = checked("BEGIN { print(typeinfo(struct task_struct)); }")
    (info,) = fields(cp)
    assert info["base_ty"] == "struct" and isinstance(info["btf_id"], int) \
        and info["btf_id"] > 0


def test_expression_types_with_every_assignment_seen(checked) -> None:
    cp = checked("BEGIN { $a = 1; print(typeinfo($a)); $a = (int16)2; }")
    assert fields(cp) == [{"btf_id": 0, "base_ty": "int", "full_ty": "int16"}]


def test_comptime_keeps_only_the_branch_taken(checked) -> None:
    cp = checked('BEGIN { $a = "x"; if comptime (typeinfo($a).base_ty == "string") '
                 '{ @s = 1; } else { @s = "never" + 1; } }')
    (s,) = [n for n in cp.comptime]
    assert isinstance(s, nodes.If) and s.otherwise is None and cp.comptime[s]
    assert str(cp.maps["@s"].value_type) == "uint8"


def test_comptime_branch_choice_decides_map_types(checked) -> None:
    cp = checked('BEGIN { $a = 1; if comptime (typeinfo($a).full_ty == "uint64") '
                 '{ @m = 1; } else { @m = "str"; } $a = (uint64)2; }')
    assert list(cp.comptime.values()) == [True]
    assert str(cp.maps["@m"].value_type) == "uint8"


def test_comptime_sizeof_and_else_if(checked) -> None:
    cp = checked("BEGIN { if comptime (sizeof(uint16) == 4) { @a = 1; } "
                 "else if comptime (sizeof(uint16) == 2) { @b = 1; } }")
    assert sorted(cp.maps) == ["@b"]


def test_condition_not_known_at_compile_time(errors) -> None:
    (err,) = errors("BEGIN { if comptime (pid == 1) { print(1); } }")
    assert "if comptime condition cannot be evaluated" in err[0] and err[1] == (1, 22, 30)


def test_locked_variable_cannot_change_type_in_a_comptime_branch(errors) -> None:
    (err,) = errors('BEGIN { $a = 1; if comptime (typeinfo($a).full_ty == "uint32") '
                    '{ $a = (uint64)3; } $a = (uint32)2; }')
    assert "Type of $a is locked to 'uint32'" in err[0] and err[1] is not None


def test_unlocked_variable_may_change_type_in_a_comptime_branch(checked) -> None:
    checked("BEGIN { $a = (uint32)1; $b = 1; if comptime (typeinfo($b).full_ty == \"uint8\") "
            "{ $a = (uint64)3; } }")
