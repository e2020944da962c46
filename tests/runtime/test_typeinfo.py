"""typeinfo() and `if comptime` loaded and run for real (BEGIN programs)."""

from __future__ import annotations

from harness import begin


def test_typeinfo_records_print_and_compare() -> None:
    out = begin('$a = 1; $s = "hello"; print(typeinfo($a)); print(typeinfo($s)); '
                'print(typeinfo(struct task_struct *)); '
                '$eq = typeinfo($a).full_ty == "uint64"; printf("eq=%d\\n", $eq); '
                '$a = (uint64)2')
    assert out.splitlines()[:4] == [
        '{ .btf_id = 0, .base_ty = "int", .full_ty = "uint64" }',
        '{ .btf_id = 0, .base_ty = "string", .full_ty = "string[6]" }',
        '{ .btf_id = 0, .base_ty = "pointer", .full_ty = "struct task_struct *" }',
        "eq=1",
    ]


def test_kernel_struct_record_has_a_btf_id() -> None:
    out = begin("$t = typeinfo(struct task_struct); "
                'printf("%s %s %d\\n", $t.base_ty, $t.full_ty, $t.btf_id > 0)')
    assert out.splitlines()[0] == "struct struct task_struct 1"


def test_typeinfo_argument_is_never_run() -> None:
    out = begin('$n = typeinfo({ printf("never\\n"); @never = 1; (int8)1 }).full_ty; '
                'printf("%s\\n", $n)')
    assert out.splitlines()[0] == "int8" and "never" not in out


def test_comptime_runs_only_the_branch_taken() -> None:
    out = begin('$a = 1; if comptime (typeinfo($a).full_ty == "uint64") { @m = 1; } '
                'else { @m = "str"; } $a = (uint64)2; '
                'if comptime (sizeof(uint16) == 4) { printf("four\\n"); } '
                'else if comptime (1) { printf("elif\\n"); } '
                'if comptime (0) { $x = "s" + 1; } else { printf("m=%d\\n", @m); }')
    assert out.splitlines()[:2] == ["elif", "m=1"]
