"""Automatic map declarations: key and value types from every use."""

from __future__ import annotations

from pytrace.types import AggT, BoolT, IntT, ProbeNameT, StackT, StrT, TupleT


def test_map_infos(checked):
    cp = checked('BEGIN { @x = 5; @s = comm; @t = (1, "a"); @c[pid] = count();'
                 ' @m[pid, comm] = sum(1); @i++; @j += 3; @p[probe] = 1; }')
    m = cp.maps
    assert (m["@x"].key_type, m["@x"].value_type) == (None, IntT(8, False))  # a literal
    assert m["@s"].value_type == StrT(16)
    assert m["@t"].value_type == TupleT((IntT(8, False), StrT(2)))
    assert m["@c"].key_type == IntT(64, False)
    assert m["@c"].value_type == AggT("count", signed=False)
    assert m["@m"].key_type == TupleT((IntT(64, False), StrT(16)))
    assert m["@m"].multi_key and not m["@c"].multi_key
    assert m["@i"].value_type == IntT(64, True)
    assert m["@j"].value_type == IntT(64, True)  # += widens a literal's type
    assert m["@p"].key_type == ProbeNameT()


def test_a_tuple_key_is_the_same_as_several_keys(checked):
    # language.md: @[pid, comm] and @[(pid, comm)] are one map with one key signature
    cp = checked("BEGIN { @x[(1, 2)] = 1; @x[3, 4] = 2; $k = (5, 6); @x[$k] = 3; "
                 "@y[1, 2] = 1; @y[(3, 4)] = 1; }")
    for name in ("@x", "@y"):
        assert cp.maps[name].key_type == TupleT((IntT(8, False), IntT(8, False)))
        assert cp.maps[name].multi_key


def test_values_unify_across_blocks(checked):
    cp = checked('BEGIN { @s = "ab"; @n = 1; } END { @s = "abcdef"; @n = pid; }')
    assert cp.maps["@s"].value_type == StrT(7)
    assert cp.maps["@n"].value_type == IntT(64, False)


def test_map_read_before_assignment_in_source(checked):
    cp = checked("BEGIN { @a = @b; } END { @b = 5; print(@a); }")
    assert cp.maps["@a"].value_type == IntT(8, False)


def test_value_mismatch(errors):
    assert errors("BEGIN { @x = count(); @x = 5; }") == [
        ("Type mismatch for @x: trying to assign value of type 'uint8' when map already "
         "contains a value of type 'count'", (1, 23, 25))]
    assert errors('BEGIN { @x = 1; @x = "s"; }')[0][0] == (
        "Type mismatch for @x: trying to assign value of type 'string[2]' when map already "
        "contains a value of type 'uint8'")
    assert errors("BEGIN { @x = hist(1); @x = lhist(1, 0, 10, 1); }")


def test_key_mismatch(errors):
    assert errors("BEGIN { @x[1] = 1; @x[1, 2] = 2; }") == [
        ("Argument mismatch for @x: trying to access with arguments: [uint8, uint8] when map "
         "expects arguments: [uint8]", (1, 20, 28))]
    assert errors('BEGIN { @x[1] = 1; @x["a"] = 2; }')[0][0] == (
        "Argument mismatch for @x: trying to access with arguments: [string[2]] when map "
        "expects arguments: [uint8]")
    assert errors("BEGIN { @x[1] = 1; @x = 2; }")[0][0].startswith("Argument mismatch for @x")


def test_undefined_map(errors):
    assert errors("BEGIN { print(@nosuch); }") == [("Undefined map: @nosuch", (1, 15, 22))]
    assert errors("BEGIN { clear(@a); }")[0][0] == "Undefined map: @a"
    assert errors("BEGIN { @x = @y + 1; }")[0][0] == "Undefined map: @y"


def test_map_functions(checked):
    cp = checked("BEGIN { @a[1] = 1; @b[1, \"x\"] = count(); delete(@a[1]); delete(@a, 2);"
                 " $h = has_key(@a, 1); $l = len(@a); clear(@b); zero(@b); print(@a);"
                 " print(@b, 3, 1); print(@a[1]); print(5); }")
    assert cp.variables[(0, "h")] == BoolT()
    assert cp.variables[(0, "l")] == IntT(64, True)
    assert set(cp.maps) == {"@a", "@b"}


def test_delete_key_checked(errors):
    assert errors('BEGIN { @a[1] = 1; delete(@a, "x"); }')[0][0].startswith(
        "Argument mismatch for @a")


def test_for_over_map(checked):
    cp = checked("BEGIN { @m[comm] = count(); for ($kv : @m) { printf(\"%s %d\\n\", $kv.0,"
                 " $kv.1); } for ($i : 0..5) { continue; } }")
    assert cp.variables[(0, "kv")] == TupleT((StrT(16), IntT(64, False)))
    assert cp.variables[(0, "i")] == IntT(64, True)


# ------------------------------------------------------------------ dw_ustack
DW = "uprobe:/bin/bash:main { @[dw_ustack] = count(); }"


def _warnings(cp) -> list[str]:  # type: ignore[no-untyped-def]
    return [d.message for d in cp.diagnostics if not d.is_error]


def test_dw_ustack_warns_that_it_is_unstable_by_default(checked) -> None:
    cp = checked(DW)
    assert any("dw_ustack is an unstable feature" in w for w in _warnings(cp))
    assert cp.maps["@"].key_type == StackT(False, 127, "bpftrace")


def test_unstable_dw_ustack_enable_silences_it(checked) -> None:
    cp = checked("config = { unstable_dw_ustack = enable }\n" + DW)
    assert not any("dw_ustack" in w for w in _warnings(cp))


def test_unstable_dw_ustack_error_refuses_it_where_it_is_used(errors) -> None:
    (msg, loc), = errors("config = { unstable_dw_ustack = error }\n"
                         "uprobe:/bin/bash:main { @[dw_ustack(perf, 3)] = count(); }")
    assert "unstable_dw_ustack=error" in msg and loc == (2, 27, 45)
