"""Tests for pytrace.values: C division, print ordering rules, top and div."""

from __future__ import annotations

import pytest

from pytrace.types import AggT, BoolT, IntT, PtrT, StrT
from pytrace.values import (
    AvgValue,
    Bucket,
    Histogram,
    MapEntry,
    MapSnapshot,
    Stats,
    Symbol,
    apply_top_div,
    cdiv,
    sort_entries,
)


def test_cdiv_truncates_toward_zero() -> None:
    assert cdiv(7, 2) == 3
    assert cdiv(-7, 2) == -3
    assert cdiv(7, -2) == -3
    assert cdiv(5, 0) == 0


def test_numeric_values_sort_ascending_signed_then_by_key() -> None:
    es = [MapEntry(("b",), 5), MapEntry(("a",), -2), MapEntry(("c",), 5), MapEntry(("d",), 0)]
    got = sort_entries(es, AggT("sum"))
    assert [e.key for e in got] == [("a",), ("d",), ("b",), ("c",)]


def test_avg_sorts_by_average() -> None:
    es = [MapEntry((1,), AvgValue(100, 2)), MapEntry((2,), AvgValue(30, 1))]
    assert [e.key for e in sort_entries(es, AggT("avg"))] == [(2,), (1,)]


def test_hists_sort_by_total_count() -> None:
    big = Histogram((Bucket(1, 0, 0, 5),))
    small = Histogram((Bucket(1, 0, 0, 1), Bucket(2, 1, 1, 1)))
    es = [MapEntry((1,), big), MapEntry((2,), small)]
    assert [e.key for e in sort_entries(es, AggT("hist"))] == [(2,), (1,)]


def test_strings_and_tuples_sort_by_key() -> None:
    es = [MapEntry((3, "b"), "x"), MapEntry((-1, "z"), "a"), MapEntry((3, "a"), "y")]
    got = sort_entries(es, StrT(8))
    assert [e.key for e in got] == [(-1, "z"), (3, "a"), (3, "b")]


def test_int_maps_sort_by_value() -> None:
    es = [MapEntry((1,), 2**40), MapEntry((2,), 3)]
    assert [e.value for e in sort_entries(es, IntT())] == [3, 2**40]


def test_min_max_maps_sort_as_unsigned_negatives_last() -> None:
    es = [MapEntry((1,), -5), MapEntry((2,), 3), MapEntry((3,), -1)]
    for kind in ("min", "max"):
        assert [e.value for e in sort_entries(es, AggT(kind))] == [3, -5, -1]
    assert [e.value for e in sort_entries(es, AggT("sum"))] == [-5, -1, 3]


def test_bool_and_pointer_maps_sort_by_key() -> None:
    es = [MapEntry((2,), False), MapEntry((1,), True)]
    assert [e.key for e in sort_entries(es, BoolT())] == [(1,), (2,)]
    es = [MapEntry((2,), 3), MapEntry((1,), 9)]
    assert [e.key for e in sort_entries(es, PtrT(IntT()))] == [(1,), (2,)]


def test_integer_keys_compare_as_signed_64_bit() -> None:
    es = [MapEntry((5,), "b"), MapEntry((2**64 - 1,), "a")]
    assert [e.key for e in sort_entries(es, StrT(8))] == [(2**64 - 1,), (5,)]


def _snap(entries: list[MapEntry]) -> MapSnapshot:
    return MapSnapshot("@m", AggT("count"), entries)


def test_top_keeps_the_largest_still_ascending() -> None:
    snap = _snap([MapEntry((i,), i * 10) for i in range(5)])
    assert [e.value for e in apply_top_div(snap, top=2).entries] == [30, 40]
    assert apply_top_div(snap, top=10).entries == snap.entries
    assert apply_top_div(snap) is snap


def test_div_applies_to_ints_avg_and_hist_but_not_lhist() -> None:
    h = Histogram((Bucket(3, 2, 3, 7),), "hist")
    lh = Histogram((Bucket(1, 0, 1, 7),), "lhist", lmin=0, lmax=10, lstep=2)
    snap = _snap(
        [
            MapEntry((1,), -7),
            MapEntry((2,), AvgValue(100, 3)),
            MapEntry((3,), h),
            MapEntry((4,), lh),
        ]
    )
    out = apply_top_div(snap, div=2).entries
    assert out[0].value == -3
    avg = out[1].value
    assert isinstance(avg, AvgValue) and avg.average == 16 and avg.total == 100
    assert isinstance(out[2].value, Histogram) and out[2].value.buckets[0].count == 3
    assert out[3].value == lh
    assert apply_top_div(snap, div=0) is snap


# ---------------------------------------------------------------- the API's additions


def _hist() -> Histogram:
    # 2 values in [0], 0 in [1], 4 in [2, 4), 2 in [4, 8)
    return Histogram((Bucket(1, 0, 0, 2), Bucket(2, 1, 1, 0), Bucket(3, 2, 3, 4),
                      Bucket(4, 4, 7, 2)))


def test_histogram_count_and_sum() -> None:
    h = _hist()
    assert h.count == h.total == 8
    assert h.sum is None


def test_percentiles_interpolate_inside_the_bucket() -> None:
    h = _hist()
    assert h.percentile(0) == 0
    assert h.percentile(25) == 1.0  # 2 of 2 values of [0, 1)
    assert h.percentile(50) == 3.0  # 2 of 4 values of [2, 4)
    assert h.percentile(100) == 8.0
    with pytest.raises(ValueError):
        h.percentile(101)
    with pytest.raises(ValueError):
        Histogram(()).percentile(50)


def test_open_buckets_give_their_bound() -> None:
    neg = Histogram((Bucket(0, None, -1, 3),))
    assert neg.percentile(50) == -1
    over = Histogram((Bucket(6, 10, None, 1),), "lhist", lmin=0, lmax=10, lstep=2)
    assert over.percentile(90) == 10


def test_histogram_renders_as_text_rich_and_html() -> None:
    from rich.console import Console

    h = _hist()
    assert str(h).splitlines()[0].startswith("[0]")
    console = Console(record=True, width=120, color_system=None)
    console.print(h)
    assert console.export_text().rstrip("\n") == str(h)
    html = h._repr_html_()
    assert html.count("<tr>") == 4 and "[2, 4)" in html and "8 values" in html


def test_stats_and_symbols() -> None:
    s = Stats(3, 2, 6)
    assert (s.count, s.average, s.total) == (3, 2, 6)
    sym = Symbol("vfs_read", 0xFFFF0010)
    assert sym == "vfs_read" and sym.address == 0xFFFF0010 and sym.kernel
    assert {sym: 1}["vfs_read"] == 1
    assert "0xffff0010" in repr(sym)
