"""Forms the language reference describes, run for real: ternaries whose branches are
statements, tuple indexing with [], one-element and empty tuples, `for` without
parentheses, sized string/buffer casts and the sign-mixing upcast of scratch variables."""

from __future__ import annotations

import os
import sys

from harness import begin, run

TAIL = "\n\n"
WORKLOAD = os.path.join(os.path.dirname(__file__), "workload.py")


def test_ternary_with_statement_branches() -> None:
    out = begin('$n = 2; $n == 2 ? printf("two\\n") : printf("other\\n"); '
                '$n > 5 ? print("big") : print("small"); $m = $n > 0 ? $n : -1; print($m)')
    assert out == "two\nsmall\n2\n" + TAIL


def test_tuple_elements_by_constant_index() -> None:
    out = begin('$t = (7, "seven", (8, "eight")); print($t[1]); print($t[2 - 1 + 1][0]); '
                'print((5, "x")[3 - 3]); @k[$t[0]] = $t[2]; print(@k); clear(@k)')
    assert out == "seven\n8\n5\n@k[7]: (8, eight)\n" + TAIL


def test_one_element_and_empty_tuples() -> None:
    out = begin('$one = (41,); print($one); print($one.0 + 1); $none = (); print($none)')
    assert out == "(41)\n42\n()\n" + TAIL


def test_for_range_without_parentheses() -> None:
    out = begin('$n = 4; for $i : 1..$n { @[$i] = $i * 10; } print(@, 2); clear(@)')
    assert out == "@[2]: 20\n@[3]: 30\n" + TAIL


def test_sized_string_and_buffer_casts_read_a_pointer() -> None:
    path = "/tmp/pt-refex-sized-cast"
    prog = ('tracepoint:syscalls:sys_enter_openat /pid == cpid && '
            'str(args.filename) == "' + path + '"/ { '
            '$s = (string[8])args.filename; $b = (buffer[4])args.filename; '
            'print($s); printf("%r\\n", $b); print((string[64])args.filename); exit(); }')
    r = run(prog, child=[sys.executable, WORKLOAD, "pt_sized", "open", path])
    assert r.code == 0, r.err
    assert r.out == "/tmp/pt\n/tmp\n" + path + "\n" + TAIL


def test_sized_string_cast_of_a_string() -> None:
    """A capacity smaller than the string keeps capacity - 1 bytes, as str(s, n) does."""
    out = begin('$s = (string[32])"hello"; print($s); printf("[%s]\\n", $s); '
                '$t = (string[3])"hello"; print($t); $u = "abcdef"; print(str($u, 4)); '
                '@[str($u, 2)] = 1; print(@); clear(@)')
    assert out == "hello\n[hello]\nhe\nabc\n@[a]: 1\n" + TAIL


def test_scratch_variable_upcast_to_a_signed_type() -> None:
    """Storing a signed value into a variable that held an unsigned one makes it signed:
    wide enough for both, int64 when nothing is (uint64 and int64)."""
    out = begin('$a = (uint8)1; $a = (int8)-1; print($a); print(sizeof($a)); '
                '$c = (uint64)1; $d = (int64)-1; $c = $d; print($c); print(sizeof($c)); '
                '$p = pid; $p = -2; print($p)')
    assert out == "-1\n2\n-1\n8\n-2\n" + TAIL


def test_str_of_a_string_parameter_plus_an_offset() -> None:
    """A string positional parameter reads as a pointer to its text inside str()."""
    out = begin('printf("%s|%s|%s|%s\\n", str($1 + 1), str($1 + 2, 3), str($1), str($1 + 9)); '
                '@[str($1 + 3)] = 1; print(@); clear(@)', params=["hello"])
    assert out == "ello|ll|hello|\n@[lo]: 1\n" + TAIL


def test_config_variables_read_as_constants() -> None:
    """`config.NAME` is the effective value of a config variable (block, environment or
    default): integers, names as strings, booleans."""
    r = run('config = { stack_mode = perf; max_strlen = 200 } BEGIN { '
            'printf("max_strlen: %d, stack_mode: %s\\n", config.max_strlen, config.stack_mode); '
            'print(config.print_maps_on_exit); @[config.license] = config.max_map_keys; exit(); }')
    assert r.code == 0, r.err
    assert r.out == "max_strlen: 200, stack_mode: perf\ntrue\n\n\n@[GPL]: 4096\n"


def test_adding_a_signed_value_is_signed() -> None:
    """As a difference, a sum with a signed operand is signed; a non-negative literal
    takes the other operand's sign."""
    out = begin('$b = (uint64)1 + (-2); print($b); $s = (int64)-3; print((uint64)2 + $s); '
                'print((uint64)-1 + 1); $u = (uint64)-1; print($u + 0)')
    assert out == "-1\n-1\n0\n18446744073709551615\n" + TAIL


def test_sizeof_of_type_spellings() -> None:
    """Kernel typedefs written bare (and as bare arrays), pointers to arrays."""
    out = begin('print(sizeof(pid_t)); print(sizeof(pid_t[3])); print(sizeof(u64)); '
                'print(sizeof(int32*[4]*)); print(sizeof(uint32*[10])); '
                '$p = (int32[4]*)0; print(sizeof(*$p))')
    assert out == "4\n12\n8\n8\n80\n16\n" + TAIL


def test_positive_literals_take_the_variables_sign() -> None:
    """A variable that held only non-negative literals, then an unsigned value, stays
    unsigned; a literal stored into an unsigned variable does not make it signed."""
    out = begin('$a = 0; $a = (uint64)-1; print($a); $b = (uint64)-1; $b = 5; '
                '$b = (uint64)-1; print($b); $c = 1; $c = -1; print($c)')
    assert out == "18446744073709551615\n18446744073709551615\n-1\n" + TAIL
