"""The resolve pass: builtins, #define constants, positional parameters, probe kinds."""

from __future__ import annotations

from pytrace.passes.resolve import param_value
from pytrace.types import IntT, StrT


def test_param_values():
    assert param_value(["5", "abc", "0x10"], 1) == 5
    assert param_value(["5", "abc", "0x10"], 2) == "abc"
    assert param_value(["5", "abc", "0x10"], 3) == 16
    assert param_value([], 1) == 0  # bpftrace: a missing $N is 0


def test_positional_params_typed(checked):
    cp = checked("BEGIN { $a = $1; $b = $2; $c = $3; $n = $#; }", params=["7", "hello"])
    v = {name: t for (_, name), t in cp.variables.items()}
    assert v["a"] == IntT(8, False)  # a numeric parameter is a literal
    assert v["b"] == StrT(6)
    assert v["c"] == IntT(8, False)
    stmts = cp.program.probes[0].body.stmts
    assert [cp.constants[s.value] for s in stmts] == [7, "hello", 0, 2]


def test_defines(checked):
    cp = checked('#define N 0x10\n#define NAME "bash"\nBEGIN { $a = N; $b = NAME; }')
    assert cp.defines["N"] == "16"
    v = {name: t for (_, name), t in cp.variables.items()}
    assert v["a"] == IntT(64, True) and v["b"] == StrT(5)
    first = cp.program.probes[0].body.stmts[0].value
    assert cp.constants[first] == 16


def test_unknown_identifier_and_function(errors):
    assert errors("BEGIN { print(foo); }") == [("Unknown identifier: 'foo'", (1, 15, 18))]
    assert errors("BEGIN { foo(); }") == [("Unknown function: foo", (1, 9, 12))]
    assert len(errors("BEGIN { $a = foo; $b = bar(); }")) == 2


def test_probe_kind_errors(errors):
    assert errors('t:syscalls:sys_enter_openat { printf("%d", retval); }') == [
        ("The retval builtin can not be used with 'tracepoint' probes", (1, 44, 50))]
    assert errors("BEGIN { $x = args.x; }")[0][0] == (
        "The args builtin can not be used with 'BEGIN' probes")
    assert errors("BEGIN { $x = arg0; }")[0][0] == (
        "The arg0 builtin can not be used with 'BEGIN' probes")
    assert errors("interval:s:1 { $x = func; }")[0][0] == (
        "The func builtin can not be used with 'interval' probes")


def test_cpid_without_a_child_compiles(checked):
    # the reference: a runtime warning and 0 when there is no -c child
    checked("BEGIN { $x = cpid; }")


def test_builtins_valid_in_their_kinds(checked):
    checked("uretprobe:/bin/bash:readline { $r = retval; $f = func; }")
    checked("uprobe:/bin/bash:readline { $a = arg0 + arg1; }")
    checked("rawtracepoint:sys_enter { $a = arg1; }")


def test_unsafe(errors, checked):
    assert errors('BEGIN { system("ls"); }') == [
        ("system() is an unsafe function being used in safe mode", (1, 9, 21))]
    checked('BEGIN { system("ls %d", 1); }', unsafe=True)
    assert errors("t:syscalls:sys_enter_openat { signal(9); }")[0][0] == (
        "signal() is an unsafe function being used in safe mode")


def test_stack_mode_identifiers_are_not_unknown(checked):
    checked("BEGIN { @[kstack(perf, 3), ustack(raw)] = count(); }")
