"""Tests for pytrace.api.convert: decoded values -> the API's Python values."""

from __future__ import annotations

from pytrace.api.convert import public_key, snapshot_dict, to_python
from pytrace.types import AggT, IntT, StrT, TupleT
from pytrace.values import AvgValue, Bucket, Histogram, MapEntry, MapSnapshot, Stats


def test_values() -> None:
    assert to_python(AvgValue(10, 4)) == 2
    assert to_python(AvgValue(10, 4, stats=True)) == Stats(4, 2, 10)
    assert to_python((1, AvgValue(3, 1), [AvgValue(4, 2)])) == (1, 3, [2])
    h = Histogram((Bucket(1, 0, 0, 3),))
    assert to_python(h) is h


def test_keys() -> None:
    assert public_key(None, None) == ()
    assert public_key(IntT(), (5,)) == 5
    assert public_key(TupleT((IntT(), StrT(4))), (5, "a")) == (5, "a")


def test_snapshot_keeps_print_order() -> None:
    snap = MapSnapshot("@m", AggT("count"), [MapEntry(("b",), 1), MapEntry(("a",), 2)],
                       StrT(8))
    assert list(snapshot_dict(snap).items()) == [("b", 1), ("a", 2)]
