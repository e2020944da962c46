"""The typecheck pass's integer rules: literal types, the types of variables, map values
and keys that store them, sizeof/typeof of literal expressions, casts of literals, and
the sign-mismatch warning."""

from __future__ import annotations

from pytrace.parser import parse
from pytrace.passes import check
from pytrace.passes.context import CheckedProgram, Options
from pytrace.source import Source
from pytrace.types import AggT, IntT, TupleT

U8, U16, U64 = IntT(8, False), IntT(16, False), IntT(64, False)
I8, I16, I32, I64 = IntT(8, True), IntT(16, True), IntT(32, True), IntT(64, True)


def variables(cp: CheckedProgram) -> dict[str, object]:
    return {name: t for (_, name), t in cp.variables.items()}


def sizes(cp: CheckedProgram) -> list[object]:
    """The values of the program's sizeof() expressions, in source order."""
    found = [(n.span.line, n.span.col, v) for n, v in cp.constants.items()
             if type(n).__name__ == "Sizeof"]
    return [v for _, _, v in sorted(found)]


def warnings(text: str) -> list[str]:
    source = Source("stdin", text)
    program, _ = parse(source)
    assert program is not None
    cp = check(program, source, Options())
    assert not cp.diagnostics.has_errors, [d.message for d in cp.diagnostics]
    return [d.message for d in cp.diagnostics if d not in cp.diagnostics.errors]


def test_literals_take_the_narrowest_type(checked) -> None:
    cp = checked("BEGIN { $a = 0; $b = 255; $c = 256; $d = -1; $e = -1000; $f = 70000; "
                 "$g = 5000000000; $h = 1m; $t = true; }")
    v = variables(cp)
    assert (v["a"], v["b"], v["c"], v["d"], v["e"], v["f"], v["g"], v["h"]) == (
        U8, U8, U16, I8, I16, IntT(32, False), U64, U64)
    assert str(v["t"]) == "bool"


def test_sizeof_of_literal_expressions(checked) -> None:
    cp = checked("BEGIN { print(sizeof(1)); print(sizeof(-1000)); print(sizeof(70000)); "
                 "print(sizeof((uint32)5 + (uint8)3)); print(sizeof((1, (uint8)2))); "
                 "print(sizeof((1, 300))); print(sizeof(typeof(-1))); }")
    # arithmetic is 64-bit (type_resolution.md: `$a + 1` resolves to uint64)
    assert sizes(cp) == [1, 2, 4, 8, 2, 4, 1]


def test_a_variable_takes_every_assignment_into_account(checked) -> None:
    # language.md: `$a = 1; $a = (uint64)2;` makes $a a uint64, also where read before
    cp = checked("BEGIN { $a = 1; print(sizeof($a)); $a = (uint64)2; "
                 "$b = 1; $c = -1000; $b = $c; $d = 1; $d = -1; }")
    v = variables(cp)
    assert sizes(cp) == [8]
    assert v["a"] == U64 and v["b"] == I16 and v["d"] == I16


def test_positive_literals_are_flexible(checked) -> None:
    cp = checked("BEGIN { $a = (int8)1; $a = 5; $b = (int32)1; $b = 70000; $c = (int8)1; "
                 "$c = 200; @m = (int8)1; @m = 5; }")
    v = variables(cp)
    assert (v["a"], v["b"], v["c"]) == (I8, I32, I16)
    assert cp.maps["@m"].value_type == I8


def test_mixed_sign_map_values_are_signed(checked) -> None:
    cp = checked("BEGIN { @a = (uint32)5; @a = -1; @b = 1; @b = -1; @c = sum(1); "
                 "@c = sum(-1); @k[1] = 1; @k[-1] = 2; }")
    assert cp.maps["@a"].value_type == I64
    assert cp.maps["@b"].value_type == I16
    assert cp.maps["@c"].value_type == AggT("sum", signed=True)
    assert cp.maps["@k"].key_type == I16


def test_no_common_type_is_int64_with_a_warning() -> None:
    msgs = warnings("BEGIN { $c = (uint64)1; $d = (int64)-1; $c = $d; print($c); "
                    "@m = nsecs; @m = -1; }")
    assert msgs == [
        "Integer sign mismatch for $c: no integer type holds both 'uint64' and 'int64', so it "
        "is int64 (large unsigned values read back as negative)",
        "Integer sign mismatch for @m: no integer type holds both 'uint64' and 'int8', so it "
        "is int64 (large unsigned values read back as negative)"]
    assert warnings("BEGIN { $a = (uint32)1; $a = -1; @m = (int32)1; @m = (uint16)1; }") == []


def test_updates_widen_to_64_bits(checked) -> None:
    cp = checked("BEGIN { $a = 1; $a += 1000; $b = 1; $b++; $c = 10; $c--; $d = 1; $d -= 5; "
                 "@m = 1; @m++; let $x: uint8 = 1; $x += 1; }")
    v = variables(cp)
    assert (v["a"], v["b"], v["c"], v["d"], v["x"]) == (U64, U64, I64, I64, U8)
    assert cp.maps["@m"].value_type == I64


def test_arithmetic_signs(checked) -> None:
    cp = checked("BEGIN { $a = 1 + 2; $b = (int32)1 + 2; $c = 1 - 2; $d = (uint64)1 + (-2); "
                 "$e = -1 * 3; $f = (uint32)5 + 1; }")
    v = variables(cp)
    assert (v["a"], v["b"], v["c"], v["d"], v["e"], v["f"]) == (U64, I64, I64, I64, I64, U64)


def test_ternary_branches_promote(checked) -> None:
    cp = checked("BEGIN { $a = 1 ? 1 : -1; $b = 1 ? 300 : -1; $c = 1 ? (uint64)1 : -1; "
                 "$d = 1 ? (uint8)1 : (uint16)2; }")
    v = variables(cp)
    # the literal 300 needs int16, which holds -1 too
    assert (v["a"], v["b"], v["c"], v["d"]) == (I8, I16, I64, U16)


def test_tuples_of_literals(checked) -> None:
    cp = checked("BEGIN { $t = (1, -1, 300); $t = (2, 3, -4); }")
    # element by element, without the flexibility of a bare literal
    assert variables(cp)["t"] == TupleT((U8, I16, I32))


def test_typeof_a_literal_in_casts_and_declarations(checked, errors) -> None:
    cp = checked("BEGIN { $b = 1; let $a: typeof($b) = 200; $c = (typeof(-1))300; }")
    v = variables(cp)
    assert v["a"] == U8 and v["c"] == I8
    assert errors("BEGIN { $b = 1; let $a: typeof($b) = 300; }")[0][0] == (
        "Type mismatch for $a: the integer literal 300 does not fit in 'uint8'")


def test_casts_of_literals_to_arrays_take_the_array_width(checked, errors) -> None:
    cp = checked("BEGIN { $a = (int8[8])12345; $b = (uint8[2])1; $c = (int8[4])-1; }")
    assert [str(t) for t in variables(cp).values()] == ["int8[8]", "uint8[2]", "int8[4]"]
    assert errors("BEGIN { $a = (int8[2])100000; }")[0][0] == (
        "Cannot cast from 'uint32' to 'int8[2]': the sizes differ (4 and 2 bytes)")


def test_reads_see_the_final_type_of_composites(checked) -> None:
    cp = checked('BEGIN { $t = (1, 2); print(sizeof($t)); $t = (300, 2); $s = "a"; '
                 'print(sizeof($s)); $s = "abc"; }')
    assert sizes(cp) == [4, 4]  # (uint16, uint8) and string[4]


def test_the_reference_resolver_examples(checked) -> None:
    # type_resolution.md: every `$a` node ends with one type; `$a = $b` does not change $b
    cp = checked("BEGIN { let $z; $z = $z + 1; $z = 1; print(sizeof($z)); "
                 "$a = 1; $b = 1; $a = $b; $a = (uint32)2; print(sizeof($a)); "
                 "print(sizeof($b)); }")
    assert sizes(cp) == [8, 4, 1]
    v = variables(cp)
    assert (v["z"], v["a"], v["b"]) == (U64, IntT(32, False), U8)
