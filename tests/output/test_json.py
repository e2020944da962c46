"""Tests for pytrace.output.json: record shapes from OUTPUT.md and validity of every line."""

from __future__ import annotations

import io
import json

from hypothesis import given
from hypothesis import strategies as st

from pytrace.output import make_output
from pytrace.output.json import (
    attached_record,
    error_record,
    json_str,
    json_value,
    lost_record,
    map_record,
    text_record,
    text_records,
    value_record,
)
from pytrace.types import AggT, IntT, StrT
from pytrace.values import (
    AvgValue,
    Bucket,
    EnumValue,
    Histogram,
    MapEntry,
    MapSnapshot,
    Pointer,
    Stack,
)


def scalar(name: str, value: object) -> MapSnapshot:
    return MapSnapshot(name, IntT(), [MapEntry(None, value)])


def test_record_shapes_match_output_md() -> None:
    assert attached_record(1) == '{"type": "attached_probes", "count": 1, "data": {"probes": 1}}\n'
    assert text_record("printf", "hello 5\n") == '{"type": "printf", "data": "hello 5\\n"}\n'
    assert value_record(7) == '{"type": "value", "data": 7}\n'
    c = MapSnapshot("@c", AggT("count"), [MapEntry(("a",), 1), MapEntry(("b",), 2)])
    assert map_record(c) == '{"type": "map", "data": {"@c": {"a": 1, "b": 2}}}\n'
    assert map_record(scalar("@s", 3)) == '{"type": "map", "data": {"@s": 3}}\n'
    m = MapSnapshot("@m", IntT(), [MapEntry((1, "x"), 2)])
    assert map_record(m) == '{"type": "map", "data": {"@m": {"1,x": 2}}}\n'
    assert map_record(scalar("@t", (1, "a"))) == '{"type": "map", "data": {"@t": [1,"a"]}}\n'
    assert map_record(scalar("@a", AvgValue(4, 1))) == '{"type": "stats", "data": {"@a": 4}}\n'
    stats = scalar("@st", AvgValue(10, 1, stats=True))
    assert map_record(stats) == (
        '{"type": "stats", "data": {"@st": {"count": 1, "average": 10, "total": 10}}}\n'
    )
    h = Histogram((Bucket(3, 4, 7, 1), Bucket(4, 8, 15, 0)))
    assert map_record(scalar("@h", h)) == (
        '{"type": "hist", "data": {"@h": [{"min": 4, "max": 7, "count": 1},'
        '{"min": 8, "max": 15, "count": 0}]}}\n'
    )
    assert lost_record(12) == '{"type": "lost_events", "count": 12, "data": {"events": 12}}\n'


def test_open_buckets_and_keyed_hists() -> None:
    lh = Histogram((Bucket(0, None, -1, 1), Bucket(6, 10, None, 1)), "lhist", 0, 0, 10, 2)
    snap = MapSnapshot("@l", AggT("lhist"), [MapEntry((1,), lh)], IntT())
    assert json.loads(map_record(snap)) == {
        "type": "hist",
        "data": {"@l": {"1": [{"max": -1, "count": 1}, {"min": 10, "count": 1}]}},
    }


def test_empty_map_is_not_printed_and_top_div() -> None:
    assert map_record(MapSnapshot("@x", IntT(), [])) == ""
    c = MapSnapshot("@c", AggT("count"), [MapEntry(("a",), 10), MapEntry(("b",), 20)])
    assert json.loads(map_record(c, top=1, div=10))["data"] == {"@c": {"b": 2}}


def test_big_integers_become_strings_like_bpftrace() -> None:
    assert json_value(2**64 - 1) == '"18446744073709551615"'
    assert json_value(2**53) == str(2**53)
    assert json_value(-5) == "-5"


def test_nasty_strings_stay_valid_json() -> None:
    nasty = 'q"b\\s\n\r\t\x00\x1f\x7f \ufffd \udcff end'
    for line in (
        text_record("printf", nasty),
        value_record((nasty, 1)),
        map_record(MapSnapshot("@s", StrT(64), [MapEntry((nasty,), nasty)])),
        error_record("errorf", nasty, "stdin", 1, 9),
    ):
        assert line.endswith("\n") and line.count("\n") == 1
        line.encode("utf-8")
        json.loads(line)
    assert json_str("\x01\b") == '"\\u0001\\u0008"'
    assert json.loads(json_str('a"b')) == 'a"b'


@given(st.text())
def test_any_text_round_trips(s: str) -> None:
    decoded = json.loads(text_record("printf", s))["data"]
    assert decoded == s.encode("utf-8", "replace").decode("utf-8")


def test_other_values() -> None:
    # a stack is the text printf shows; a buffer its bytes as signed char numbers
    assert json.loads(json_value(Stack(("f+1", "g")))) == "\n        f+1\n        g\n"
    assert json.loads(json_value({"a": 1, "b": "x"})) == {"a": 1, "b": "x"}
    assert json_value(b"\x01a\xff") == "[1,97,-1]"
    assert json_value(EnumValue(2, "TWO")) == "2"
    assert json_value(Pointer(0x10)) == "16"


def test_keys_lose_their_spaces() -> None:
    m = MapSnapshot("@m", IntT(), [MapEntry((1, "a b"), 2), MapEntry(((3, 4),), 5)])
    assert map_record(m) == '{"type": "map", "data": {"@m": {"1,ab": 2, "3,4": 5}}}\n'
    s = MapSnapshot("@s", AggT("count"), [MapEntry((Stack(("f+1", "g")),), 1)])
    assert json.loads(map_record(s))["data"]["@s"] == {"\nf+1\ng\n": 1}
    assert json_value(None) == "null"


def test_json_output_object() -> None:
    out = io.StringIO()
    o = make_output("json", out, io.StringIO(), quiet=False)
    o.attached(2)
    o.printf("x\n")
    o.time("12:00:00\n")
    o.maps_at_exit([scalar("@b", 2), MapSnapshot("@e", IntT(), []), scalar("@a", 1)])
    lines = out.getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["type"] for r in records] == [
        "attached_probes",
        "printf",
        "time",
        "map",
        "map",
    ]
    assert [next(iter(r["data"])) for r in records[3:5]] == ["@a", "@b"]
    quiet = io.StringIO()
    make_output("json", quiet, io.StringIO(), quiet=True).attached(1)
    assert quiet.getvalue() == ""


def test_text_records_are_text_record_of_each() -> None:
    texts = ["a\n", "", 'q"\\', "\x01\t", "\udcff"]
    assert text_records("printf", texts) == "".join(text_record("printf", t) for t in texts)
    assert text_records("printf", []) == ""
