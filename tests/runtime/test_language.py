"""P0 language semantics, executed for real: BEGIN programs run in the kernel through
BPF_PROG_TEST_RUN and print their results through the ring buffer."""

from __future__ import annotations

import os

import pytest
from harness import begin, run

TAIL = "\n\n"


@pytest.mark.parametrize("expr, expected", [
    ("7 + 5 * 2", 17),
    ("(7 + 5) * 2", 24),
    ("-7 / 2", -3),           # C: truncation toward zero
    ("-7 % 2", -1),
    ("7 / -2", -3),
    ("7 / 0", 1),             # bpftrace: a warning, and 1 is the result
    ("7 % 0", 1),
    ("1 << 10 | 3", 1027),
    ("0xf0 & 0x3c ^ 0x1", 0x31),
    ("-16 >> 2", -4),         # arithmetic shift on signed
    ("~0", -1),
    ("1 < 2", 1),
    ("-1 < 1", 1),
    ("(uint64)-1 > 1", 1),    # unsigned comparison
    ("3 == 3 && 0 || 5", 1),
    ("!5", 0),
    ("(int8)200", -56),
    ("(uint8)300", 44),
    ("(uint32)-1", 4294967295),
    ("1 ? 10 : 20", 10),
    ("0 ? 10 : 20", 20),
    ("1_000_000 + 0x10 + 010", 1000024),
    ("true + true", 2),
])
def test_integer_expressions(expr: str, expected: int) -> None:
    assert begin(f'printf("%ld\\n", {expr})') == f"{expected}\n" + TAIL


def test_unsigned_printing() -> None:
    assert begin('printf("%u %x %X %o\\n", (uint32)-1, 255, 255, 8)') == "4294967295 ff FF 10\n" + TAIL


def test_printf_widths() -> None:
    assert begin('printf("[%5d][%-5d][%05d][%-6s][%6s]\\n", 42, 42, 42, "ab", "ab")') == \
        "[   42][42   ][00042][ab    ][    ab]\n" + TAIL


def test_scratch_variables_and_compound_assignment() -> None:
    out = begin('$i = 5; $i += 3; $i *= 2; $i <<= 1; $i -= 1; $i--; ++$i; $j = $i++; '
                'printf("%d %d\\n", $i, $j)')
    assert out == "32 31\n" + TAIL


def test_if_else_chain() -> None:
    prog = ('$x = 2; if ($x == 1) { printf("one\\n"); } else if ($x == 2) { printf("two\\n"); } '
            'else { printf("other\\n"); }')
    assert begin(prog) == "two\n" + TAIL


def test_strings_compare() -> None:
    prog = ('$s = "abc"; if ($s == "abc") { printf("eq "); } if ($s != "abd") { printf("ne "); } '
            'if ("ab" == $s) { printf("bad "); } $t = "abc"; if ($s == $t) { printf("vars\\n"); }')
    assert begin(prog) == "eq ne vars\n" + TAIL


def test_strings_read_from_maps_compare_across_helper_calls() -> None:
    # Both operands are map reads and another lookup follows: compared byte by byte, the
    # strings used to become one LLVM value per byte, spilled one 8-byte stack slot each
    # across the helper calls ("BPF stack limit is exceeded": LLVM killed pytrace).
    prog = ('BEGIN { @k[1] = 1; @s = str($1, 44); @t = str($1, 44); @u = "other"; } '
            'BEGIN /(@s == @t) && len(@k)/ { printf("eq "); } '
            'BEGIN /@s != @u && has_key(@k, 1)/ { printf("ne\\n"); exit(); }')
    r = run(prog, ["hello"])
    assert r.code == 0, r.err
    assert r.out.startswith("eq ne\n")


def test_tuples() -> None:
    assert begin('$t = (1, "two", -3); printf("%d %s %d\\n", $t.0, $t.1, $t.2)') == "1 two -3\n" + TAIL


def test_builtins_in_begin_run_in_this_process() -> None:
    out = begin('printf("%d %d %d %d %s %s\\n", pid, tid, uid, gid, probe, comm)')
    fields = out.split("\n")[0].split(" ")
    assert int(fields[0]) == os.getpid()
    assert int(fields[1]) == os.getpid()  # BEGIN runs on the main thread
    assert (int(fields[2]), int(fields[3])) == (os.getuid(), os.getgid())
    assert fields[4] == "BEGIN"
    with open("/proc/self/comm") as f:
        assert fields[5] == f.read().strip()


def test_time_builtins() -> None:
    out = begin('printf("%d %d %d\\n", nsecs > 0, elapsed < 60000000000, cpu < 4096)')
    assert out == "1 1 1\n" + TAIL


def test_positional_parameters() -> None:
    assert begin('printf("%s %d %d\\n", str($1), $2 * 2, $#)', ["hello", "21"]) == "hello 42 2\n" + TAIL


def test_loops() -> None:
    prog = ('$i = 0; $sum = 0; while ($i < 10) { $i++; if ($i == 3) { continue; } if ($i == 8) { break; } '
            '$sum += $i; } printf("%d ", $sum); $n = 0; unroll(4) { $n += 2; } printf("%d\\n", $n)')
    assert begin(prog) == f"{1 + 2 + 4 + 5 + 6 + 7} 8\n" + TAIL


def test_maps_printed_at_exit() -> None:
    r = run('BEGIN { @m[1, "a"] = 5; @m[2, "b"] = 3; @c++; @c++; @s = sum(10); @s = sum(-3); '
            '@mn = min(5); @mn = min(-2); @mx = max(7); @mx = max(3); @av = avg(4); @av = avg(7); '
            '@str = "hello"; @tup = (1, "x"); @st = stats(10); @st = stats(20); @[comm] = count(); exit(); }')
    assert r.code == 0, r.err
    with open("/proc/self/comm") as f:
        comm = f.read().strip()
    assert r.out == (
        "\n\n"
        f"@[{comm}]: 1\n"
        "@av: 5\n"
        "@c: 2\n"
        "@m[2, b]: 3\n"
        "@m[1, a]: 5\n"
        "@mn: -2\n"
        "@mx: 7\n"
        "@s: 7\n"
        "@st: { .count = 2, .average = 15, .total = 30 }\n"
        "@str: hello\n"
        "@tup: (1, x)\n"
    )


def test_map_reads_and_increments() -> None:
    out = begin('@x = 5; @x += 2; @x++; $old = @x++; @y[1] = @x * 2; @c = count(); @c = count(); '
                'printf("%d %d %d %d\\n", $old, @x, @y[1], @c)')
    assert out.startswith("8 9 18 2\n")


def test_hist_and_lhist() -> None:
    r = run('BEGIN { @h = hist(5); @h = hist(5); @h = hist(1000); @h = hist(-1); '
            '@l = lhist(3, 0, 10, 2); @l = lhist(11, 0, 10, 2); exit(); }')
    assert r.code == 0, r.err
    assert "@h:\n(..., 0)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n" in r.out
    assert "[4, 8)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n" in r.out
    assert "[512, 1K)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n" in r.out
    assert "[10, ...)              1 |" in r.out


def test_print_clear_zero_delete() -> None:
    r = run('BEGIN { @a[1] = 1; @a[2] = 2; print(@a); delete(@a[1]); print(@a); '
            '@z = count(); zero(@z); @k = 5; clear(@k); print(7); print("s"); exit(); }')
    assert r.code == 0, r.err
    # print() is asynchronous (as in bpftrace): the map is read when the record arrives,
    # after the delete already ran
    assert r.out == "@a[2]: 2\n@a[2]: 2\n7\ns\n\n\n@a[2]: 2\n@z: 0\n"


def test_exit_stops_the_probe_and_sets_the_code() -> None:
    r = run('BEGIN { printf("a\\n"); exit(4); printf("b\\n"); } END { printf("end\\n"); }')
    assert (r.code, r.out) == (4, "a\nend\n\n\n")


def test_filter_on_begin() -> None:
    assert run('BEGIN /1 == 2/ { printf("no\\n"); } BEGIN /1 == 1/ { printf("yes\\n"); }').out == "yes\n\n\n"


def test_unkeyed_aggregations_live_in_array_slots_but_print_like_maps() -> None:
    # never written: nothing printed; zero(): printed as 0; clear()/delete(): gone
    r = run('BEGIN { if (0) { @never = count(); @mn = min(1); } @z = count(); zero(@z); '
            '@c = count(); clear(@c); @d = count(); delete(@d); @a = avg(-4); @m = max(-9); exit(); }')
    assert r.code == 0, r.err
    assert r.out == "\n\n@a: -4\n@m: -9\n@z: 0\n"


def test_unkeyed_count_uses_a_per_cpu_array() -> None:
    from pytrace.driver import compile_source
    from pytrace.passes.context import Options
    from pytrace.resources import MapKind
    from pytrace.source import Source

    obj = compile_source(Source("stdin", "BEGIN { @c = count(); @s = sum(1); }"), Options()).obj
    assert obj.resources.map("@c").kind is MapKind.PERCPU_ARRAY
    assert obj.resources.map("@s").kind is MapKind.PERCPU_HASH  # sum(0) must still print
