"""Types assigned by the typecheck pass, and its errors."""

from __future__ import annotations

from pytrace import nodes
from pytrace.passes.context import CheckedProgram
from pytrace.passes.walk import walk
from pytrace.types import (
    AggT,
    ArrayT,
    BoolT,
    IntT,
    ProbeNameT,
    PtrT,
    StackT,
    StrT,
    StructT,
    TupleT,
    Type,
)


def stmt_types(cp: CheckedProgram, block: int = 0) -> list[Type | None]:
    """The type of each statement's main expression (assigned value or expression)."""
    out: list[Type | None] = []
    for s in cp.program.probes[block].body.stmts:
        e = s.value if isinstance(s, nodes.Assign) else getattr(s, "expr", None)
        out.append(cp.types.get(e) if e is not None else None)
    return out


def test_literals_and_builtins(checked):
    cp = checked('BEGIN { $a = 1; $b = "abc"; $c = true; $d = pid; $e = comm; $f = probe;'
                 ' $i = curtask; $j = kstack; $k = ustack(perf, 3);'
                 ' $l = nsecs; $m = cpid; }', has_child=True)
    v = {name: t for (b, name), t in cp.variables.items()}
    assert v["a"] == IntT(8, False)  # the narrowest type holding the literal
    assert v["b"] == StrT(4)
    assert v["c"] == BoolT()  # true is a bool
    assert v["d"] == IntT(64, False)
    assert v["e"] == StrT(16)
    assert v["f"] == ProbeNameT()
    assert v["i"] == PtrT(StructT("struct task_struct"), ctype="struct task_struct *",
                          kernel=True)
    assert v["j"] == StackT(True, 127, "bpftrace")
    assert v["k"] == StackT(False, 3, "perf")
    assert v["l"] == IntT(64, False) and v["m"] == IntT(64, False)


def test_func_on_uprobe_is_string(checked):
    cp = checked("uprobe:/bin/bash:readline { $f = func; }")
    assert cp.variables[(0, "f")] == StrT(64)


def test_operators(checked):
    cp = checked("BEGIN { $a = 1 + pid; $b = 1 + 2; $c = 1 < 2; $d = -pid; $e = ~pid;"
                 ' $f = !1; $g = "a" == "b"; $h = 1 ? 2 : pid; $i = 1 ? "a" : "abcd";'
                 " $j = (uint8)300; $k = (int32)1; $l = (1, \"a\", pid); $m = $l.1; }")
    v = {name: t for (_, name), t in cp.variables.items()}
    assert v["a"] == IntT(64, False)
    assert v["b"] == IntT(64, False)  # arithmetic is 64-bit, unsigned + unsigned
    assert v["c"] == IntT(64, True)
    assert v["d"] == IntT(64, True)
    assert v["e"] == IntT(64, False)
    assert v["f"] == IntT(64, True)
    assert v["g"] == IntT(64, True)
    assert v["h"] == IntT(64, False)
    assert v["i"] == StrT(5)
    assert v["j"] == IntT(8, False)
    assert v["k"] == IntT(32, True)
    assert v["l"] == TupleT((IntT(8, False), StrT(2), IntT(64, False)))
    assert v["m"] == StrT(2)


def test_every_expression_is_typed(checked):
    cp = checked('BEGIN { @x[pid, comm] = count(); if (pid > 1 && comm == "a") '
                 '{ printf("%d %s\\n", 1 + 2 * 3, comm); } }')
    for stmt in cp.program.probes[0].body.stmts:
        for node in walk(stmt):
            if isinstance(node, nodes.Expr):
                assert node in cp.types, node


def test_tracepoint_args(checked):
    cp = checked("t:syscalls:sys_enter_openat { $f = args.filename; $d = args->dfd;"
                 " $n = args.__syscall_nr; }"
                 " t:sched:sched_switch { $c = args.prev_comm; $p = args.prev_pid; }")
    assert cp.variables[(0, "f")] == PtrT(IntT(8, True), user=True, ctype="const char *")
    assert cp.variables[(0, "d")] == IntT(64, False)
    assert cp.variables[(0, "n")] == IntT(32, True)
    assert cp.variables[(1, "c")] == StrT(16)
    assert cp.variables[(1, "p")] == IntT(32, True)


def test_args_unified_over_targets(checked):
    cp = checked("t:syscalls:sys_enter_read, t:syscalls:sys_enter_write { $n = args.count; }")
    assert cp.variables[(0, "n")] == IntT(64, False)


def test_args_field_missing_in_one_target(errors):
    text = "t:syscalls:sys_enter_read, t:syscalls:sys_enter_openat { $n = args.count; }"
    errs = errors(text)
    assert errs[0][0] == ("Struct/union of type 'struct _tracepoint_syscalls_sys_enter_openat'"
                          " does not contain a field named 'count'")
    col = text.index("args.count") + 1
    assert errs[0][1] == (1, col, col + len("args.count"))


def test_str_and_buf(checked):
    cp = checked("t:syscalls:sys_enter_openat { $a = str(args.filename);"
                 " $b = str(args.filename, 4);"
                 " $d = str($1); }", params=["hello"])
    assert cp.variables[(0, "a")] == StrT(1024)
    assert cp.variables[(0, "b")] == StrT(4)
    assert cp.variables[(0, "d")] == StrT(6)


def test_aggregations_types(checked):
    cp = checked("BEGIN { @a = count(); @b = sum(pid); @c = min(-1); @d = hist(pid, 2);"
                 " @e = lhist(pid, 0, 100, 10); @f = stats(1); @g = avg(pid); }")
    assert cp.maps["@a"].value_type == AggT("count", signed=False)
    assert cp.maps["@b"].value_type == AggT("sum", signed=False)
    assert cp.maps["@c"].value_type == AggT("min", signed=True)
    assert cp.maps["@d"].value_type == AggT("hist", signed=False, hist_bits=2)
    assert cp.maps["@e"].value_type == AggT("lhist", signed=False, lmin=0, lmax=100, lstep=10)
    assert cp.maps["@f"].value_type == AggT("stats", signed=False)  # of a uint8 literal
    target = cp.program.probes[0].body.stmts[0].target
    assert cp.types[target] == AggT("count", signed=False)


def test_read_count_map_in_expression(checked):
    cp = checked("BEGIN { @c[pid] = count(); if (@c[pid] > 10) { exit(); } }")
    cond = cp.program.probes[0].body.stmts[1].cond
    assert cp.types[cond.left] == IntT(64, False)


def test_array_field_index(checked):
    cp = checked("t:syscalls:sys_enter_pipe2 { $x = args.fildes; }")
    assert isinstance(cp.variables[(0, "x")], PtrT)
    cp = checked("t:sched:sched_switch { $x = args.prev_comm[0]; }")
    assert cp.variables[(0, "x")] == IntT(8, True)
    assert ArrayT(IntT(32, True), 2).count == 2


def test_type_errors(errors):
    assert errors('BEGIN { $a = "a" + 1; }') == [
        ("Type mismatch for '+': comparing 'string[2]' with 'uint8'", (1, 14, 21))]
    assert errors("BEGIN { $x = 1; $x = \"a\"; }")[0][0] == (
        "Type mismatch for $x: trying to assign value of type 'string[2]' when variable "
        "already contains a value of type 'uint8'")
    assert errors('BEGIN { $x = -"a"; }')[0][0] == (
        "The - operator can not be used on expressions of type 'string[2]'")
    assert errors('BEGIN { $x = 1 ? "a" : 2; }')[0][0] == (
        "Ternary operator must return the same type: have 'string' and 'integer'")
    assert errors("BEGIN { $x = $y; }") == [
        ("Undefined or undeclared variable: $y", (1, 14, 16))]
    assert errors("BEGIN { break; }")[0][0] == (
        "'break' statement is not allowed outside of a loop")


def test_aggregation_must_be_assigned(errors):
    assert errors("BEGIN { $x = count(); }") == [
        ("count() should be directly assigned to a map", (1, 14, 21))]
    assert errors("BEGIN { count(); }")[0][0] == "count() should be directly assigned to a map"
    assert errors("BEGIN { @x = count() + 1; }")[0][0] == (
        "count() should be directly assigned to a map")


def test_argument_checks(errors):
    assert errors("BEGIN { @ = hist(1, 7); }")[0][0] == "hist() bits must be between 0 and 5 (7 provided)"
    assert errors("BEGIN { @ = lhist(1, 10, 0, 1); }")[0][0] == (
        "lhist() min must be less than max (provided min 10 and max 0)")
    assert errors("BEGIN { @ = lhist(1, 0, 10, 0); }")[0][0] == "lhist() step must be >= 1 (0 provided)"
    assert errors("BEGIN { @ = lhist(1, 0, pid, 1); }")[0][0] == (
        "lhist(): max must be an integer literal")
    assert errors('BEGIN { @ = sum("a"); }')[0][0] == (
        "sum() only supports integer arguments (string provided)")
    assert errors("BEGIN { @ = count(1); }")[0][0] == "count() requires no arguments (1 provided)"
    assert errors("BEGIN { exit(1, 2); }")[0][0] == "exit() takes up to 1 argument (2 provided)"
    assert errors("BEGIN { @h = hist(1); if (@h > 1) {} }")[0][0] == (
        "The value of hist() map @h can not be read in an expression")
    assert errors("BEGIN { clear(1); }")[0][0] == "clear() expects a map without a key as argument"


def test_positional_from_define(checked):
    cp = checked("#define N 4\nBEGIN { @ = hist(pid, N); @l = lhist(pid, 0, $1, 1); }",
                 params=["10"])
    assert cp.maps["@"].value_type == AggT("hist", signed=False, hist_bits=4)
    assert cp.maps["@l"].value_type.lmax == 10


def test_argument_count_wording(errors):
    """Too many arguments: 'takes up to N'; too few: 'requires at least N'."""
    assert errors("BEGIN { @m[1] = 1; delete(@m, 1, 2); }")[0] == (
        "delete() takes up to 2 arguments (3 provided)", (1, 20, 36))
    assert errors("BEGIN { printf(); }")[0][0] == (
        "printf() requires at least one argument (0 provided)")


def test_delete_keyed_map_with_key(errors):
    """The old two-element form: the underline runs from delete to the keyed map's end."""
    assert errors("BEGIN { @m[1] = 1; delete(@m[1], @m[2]); }") == [
        ("delete() expects a map with no keys for the first argument", (1, 20, 32))]


def test_records_are_one_type_in_any_field_order(checked):
    from pytrace.types import RecordT

    cp = checked('BEGIN { $a = (color="green", size=2); $a = (size=10, color="blue"); '
                 '@m[(a=1, b="x")] = (x=1, y=2); @m[(b="yy", a=4)] = (y=3, x=4); '
                 '$e = $a == (size=1, color="c"); }')
    v = {name: t for (b, name), t in cp.variables.items()}
    assert v["a"] == RecordT((("color", StrT(6)), ("size", IntT(8, False))))
    assert v["e"] == IntT()
    info = cp.maps["@m"]
    u8 = IntT(8, False)
    assert info.key_type == RecordT((("a", u8), ("b", StrT(3))))
    assert info.value_type == RecordT((("x", u8), ("y", u8)))


def test_record_errors(errors):
    assert errors("BEGIN { $r = (a=1, a=2); }")[0][0] == "Duplicate field name in record: 'a'"
    assert errors("BEGIN { $r = (a=1); @ = $r.b; }")[0][0] == \
        "Record does not contain a field named 'b'"
    assert "Type mismatch for $a" in errors("BEGIN { $a = (a=1); $a = (b=1); }")[0][0]
    assert "Type mismatch for '=='" in errors("BEGIN { @ = (a=1) == (b=1); }")[0][0]


def test_map_assigned_only_from_itself_is_int64(checked):
    # `$d = @m[k]; @m[k] = $d + 1`: the map's only value comes from its own reads
    cp = checked('BEGIN { if (1) { $d = @depth[tid]; if ($d < 8) { @depth[tid] = $d + 1; } } }')
    v = {name: t for (b, name), t in cp.variables.items()}
    assert v["d"] == IntT(64, True)
    assert cp.maps["@depth"].value_type == IntT(64, True)


def test_self_assigned_map_keeps_errors_of_its_values(errors):
    errs = errors('BEGIN { $d = @m[1]; @m[1] = $d + "x"; }')
    assert any("+" in m or "Type mismatch" in m or "Invalid" in m for m, _ in errs), errs
