"""printf conversions on values that went through the kernel: flags, width, precision,
length modifiers (hh/h truncate to the low bytes, none to a C int, l/ll/j/z/t keep
64 bits), %c %p %e %f
%g %a, %s of any value, %gr GFP flag names."""

from __future__ import annotations

import pytest
from harness import begin, run

TAIL = "\n\n"


@pytest.mark.parametrize("fmt, args, expected", [
    ("%hhx|%hx|%x|%lx|%llx|%jx|%zx|%tx", "0x1234567890, " * 7 + "0x1234567890",
     "90|7890|34567890|1234567890|1234567890|1234567890|1234567890|1234567890"),
    ("%hhd|%hd|%d|%hhu|%hu", "-1, -1, -1, 0x1ff, 0x1ffff", "-1|-1|-1|255|65535"),
    ("%u|%x|%X|%o|%#x|%#o|%+d|% d", "-1, 255, 255, 8, 255, 8, 5, 5",
     "4294967295|ff|FF|10|0xff|010|+5| 5"),
    ("%d|%u|%lu|%d", "0x100000001, 0x100000001, -1, -2147483649", "1|1|18446744073709551615|2147483647"),
    ("[%5d][%-5d][%05d][%.3d][%5.3d]", "42, 42, 42, 7, 7", "[   42][42   ][00042][007][  007]"),
    ("%c%c|%3c|%p|%p", "72, 105, 120, 0, 4096", "Hi|  x|(nil)|0x1000"),
    ("%e|%f|%.2f|%g|%G|%a|%10.3e", "1, 2, 7, 300000000000, 1, 3, 12345",
     "1.000000e+00|2.000000|7.00|3e+11|1|0x1.8p+1| 1.234e+04"),
    ("[%s][%8s][%-8s][%.2s]", '"abc", "abc", "abc", "abc"', "[abc][     abc][abc     ][ab]"),
    ("%s|%s|%s", '5, (1, "a"), -3', "5|(1, a)|-3"),
    ("%gr|%gr", "0xcc0, 0", "GFP_KERNEL|none"),
])
def test_conversions(fmt: str, args: str, expected: str) -> None:
    assert begin(f'printf("{fmt}\\n", {args})') == expected + "\n" + TAIL


def test_a_buffer_with_s_prints_as_with_r() -> None:
    r = run('BEGIN { printf("%s|%r\\n", buf("a\\x01", 3), buf("a\\x01", 3)); exit(); }')
    assert r.code == 0, r.err
    assert r.out.startswith("a\\x01\\x00|a\\x01\\x00\n")


def test_s_width_counts_bytes() -> None:
    r = run('BEGIN { printf("%-6s|%6s|\\n", "é", "日本"); exit(); }')
    assert r.code == 0, r.err
    assert r.out.startswith("é    |日本|\n")
