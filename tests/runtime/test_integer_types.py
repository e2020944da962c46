"""Integer literal types and their promotion, compiled, loaded and run: what sizeof
reports, what values print (the reference's examples of literals, casts of literals and
upcasts), mixed-sign map values, and that 64-bit arithmetic keeps its values."""

from __future__ import annotations

from harness import begin, run

TAIL = "\n\n"


def test_sizeof_of_literals_and_variables() -> None:
    out = begin('printf("%d %d %d %d %d %d\\n", sizeof(1), sizeof(-1000), sizeof(70000), '
                'sizeof((uint32)5 + (uint8)3), sizeof((1, (uint8)2)), sizeof(typeof(-1))); '
                '$a = 1; printf("%d\\n", sizeof($a)); $a = (uint64)2; '
                '$b = 1; $c = -1000; $b = $c; printf("%d %d\\n", sizeof($b), $b); '
                'print(sizeof({ $q = (int8)1; $q }))')
    assert out == "1 2 4 8 2 1\n8\n2 -1000\n1\n" + TAIL


def test_casts_of_literals_truncate_to_the_type() -> None:
    r = run('macro p_cast(a, b) { (a*)b } '
            'BEGIN { print(p_cast(typeof(uint8), -1)); print((typeof(uint8))-1); '
            'printf("%x %x\\n", (typeof(uint8))-1, (uint16)-1); '
            'print((uint8 *)(int64)-1); $b = (int16)1; print((typeof($b))70000); '
            'let $a: uint16 = (uint16)-1; print($a); exit(); }')
    assert r.code == 0, r.err
    assert r.out == "0xff\n255\nff ffff\n0xffffffffffffffff\n4464\n65535\n" + TAIL


def test_reference_examples_of_integer_casts() -> None:
    out = begin('$x = 1<<16; printf("%d %d\\n", (uint16)$x, $x); '
                '$a = (int8[8])12345; printf("%x %x\\n", $a[0], $a[1]); '
                'printf("%d\\n", (uint64)$a); $u = (uint8[8])12345; print((uint64)$u); '
                'printf("first byte: %x\\n", ((int8[8])(uint64)12345)[0]); '
                'print((uint64)1 - (uint64)2); print((uint64)1 + (-2)); '
                'print((uint64)((uint64)1 - (uint64)2))')
    assert out == ("0 65536\n39 30\n12345\n12345\nfirst byte: 39\n-1\n-1\n"
                   "18446744073709551615\n" + TAIL)


def test_mixed_sign_map_values_print_signed() -> None:
    r = run('BEGIN { @a = (uint32)5; @a = -1; @b = 1; @b = -1; @c = sum(1); @c = sum(-3); '
            '@k[1] = 1; @k[-1] = 2; @m = min(1); @m = min(-5); @v = avg(4); @v = avg(-8); '
            'exit(); }')
    assert r.code == 0, r.err
    lines = r.out.split("\n")
    for line in ("@a: -1", "@b: -1", "@c: -2", "@k[-1]: 2", "@k[1]: 1", "@m: -5", "@v: -2"):
        assert line in lines, r.out


def test_no_common_type_is_int64_with_a_warning() -> None:
    r = run('BEGIN { $c = (uint64)1; $d = (int64)-1; $c = $d; print($c); '
            '@m = (uint64)7; @m = -1; exit(); }')
    assert r.code == 0, r.err
    assert r.out.startswith("-1\n") and "@m: -1" in r.out.split("\n"), r.out
    assert r.err.count("WARNING: Integer sign mismatch") == 2
    assert "no integer type holds both 'uint64' and 'int64'" in r.err


def test_arithmetic_on_literal_typed_values_stays_64_bit() -> None:
    out = begin('$a = 100; $a = $a + 100; print($a); $b = 1; $b += 1000; print($b); '
                '$c = 1; $c += -5; print($c); $i = 0; while ($i < 300) { $i++; } print($i); '
                '$j = 0; $j--; print($j); @m = 1; @m++; @m += 300; print(@m); '
                '$x = -1; printf("%d %d\\n", $x < 5000000000, 200 * 200); clear(@m)')
    assert out == "200\n1001\n-4\n300\n-1\n@m: 302\n1 40000\n" + TAIL


def test_literals_adopt_a_signed_type_that_holds_them() -> None:
    out = begin('$a = (int8)-3; $a = 5; print($a); $t = 1 ? 1 : -1; print(sizeof($t)); '
                '$n = (int32)-7; printf("%d %d %d\\n", $n / 2, $n >> 1, $n < 1)')
    assert out == "5\n1\n-3 -4 1\n" + TAIL
