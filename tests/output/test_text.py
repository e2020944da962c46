"""Golden tests for pytrace.output.text and the text Output, fed with fake map contents.

Expected text is bpftrace's (0.17 runs, adjusted where OUTPUT.md says current bpftrace
differs: `@h:` without a trailing space, stats as `{ .count = … }`, no blank line after
avg/stats).
"""

from __future__ import annotations

import io
import re

import pytest

from pytrace.output import make_output
from pytrace.output.text import (
    bar_width,
    format_key,
    format_map,
    format_value,
    hist_row_labels,
)
from pytrace.types import AggT, IntT, StrT, hist_bucket_index, lhist_bucket_index
from pytrace.values import AvgValue, Bucket, Histogram, MapEntry, MapSnapshot, Record, Stack


def hist_of(values: list[int], k: int = 0) -> Histogram:
    from pytrace.runtime.decode import histogram

    counts: dict[int, int] = {}
    for v in values:
        i = hist_bucket_index(v, k)
        counts[i] = counts.get(i, 0) + 1
    return histogram(AggT("hist", hist_bits=k), counts)


def lhist_of(values: list[int], lo: int, hi: int, step: int) -> Histogram:
    from pytrace.runtime.decode import histogram

    counts: dict[int, int] = {}
    for v in values:
        i = lhist_bucket_index(v, lo, hi, step)
        counts[i] = counts.get(i, 0) + 1
    return histogram(AggT("lhist", lmin=lo, lmax=hi, lstep=step), counts)


def scalar(name: str, value: object, t: object = None) -> MapSnapshot:
    return MapSnapshot(name, t if t is not None else IntT(), [MapEntry(None, value)])  # type: ignore[arg-type]


FULL = "|@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|"
EMPTY = "|" + " " * 52 + "|"

HIST_GOLDEN = f"""@h:
(..., 0)               1 {FULL}
[0]                    0 {EMPTY}
[1]                    0 {EMPTY}
[2, 4)                 0 {EMPTY}
[4, 8)                 1 {FULL}
[8, 16)                0 {EMPTY}
[16, 32)               0 {EMPTY}
[32, 64)               0 {EMPTY}
[64, 128)              0 {EMPTY}
[128, 256)             0 {EMPTY}
[256, 512)             0 {EMPTY}
[512, 1K)              1 {FULL}

"""

LHIST_GOLDEN = f"""@l:
(..., 0)               1 {FULL}
[0, 2)                 0 {EMPTY}
[2, 4)                 1 {FULL}
[4, 6)                 0 {EMPTY}
[6, 8)                 0 {EMPTY}
[8, 10)                0 {EMPTY}
[10, ...)              1 {FULL}

"""


def test_hist_golden() -> None:
    snap = scalar("@h", hist_of([5, 1000, -3]), AggT("hist"))
    assert format_map(snap) == HIST_GOLDEN


def test_lhist_golden() -> None:
    snap = scalar("@l", lhist_of([3, -1, 12], 0, 10, 2), AggT("lhist", lmin=0, lmax=10, lstep=2))
    assert format_map(snap) == LHIST_GOLDEN


def test_bar_proportions() -> None:
    h = hist_of([2, 2, 3, 4])
    text = format_map(scalar("@h", h, AggT("hist")))
    assert "[2, 4)                 3 " + FULL in text
    assert "[4, 8)                 1 |" + "@" * 17 + " " * 35 + "|" in text
    assert bar_width(1, 3) == 17 and bar_width(2, 3) == 34 and bar_width(0, 0) == 0


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (2048, "[2K, 4K)"),
        (1536 * 1024, "[1M, 2M)"),
        (2**31, "[2G, 4G)"),
        (2**40, "[1T, 2T)"),
        (2**52, "[4P, 8P)"),
        (2**62, "[4E, 8E)"),
        (2**63 - 1, "[4E, 8E)"),
        (512 * 1024, "[512K, 1M)"),
    ],
)
def test_hist_suffix_labels(value: int, label: str) -> None:
    assert hist_row_labels(hist_of([value])) == [label]


def test_hist_with_sub_buckets() -> None:
    # hist(x, 2): 0..7 are single values, then 4 linear sub-buckets per power of two.
    assert hist_row_labels(hist_of([6, 7, 8])) == ["[4, 8)", "[8, 16)"]
    assert hist_row_labels(hist_of([6, 7, 8, 9, 10], 2)) == ["[6]", "[7]", "[8, 10)", "[10, 12)"]
    assert hist_row_labels(hist_of([3000], 1)) == ["[2K, 3K)"]
    assert hist_row_labels(hist_of([-1, 0], 1)) == ["(..., 0)", "[0]"]


def test_lhist_labels() -> None:
    assert hist_row_labels(lhist_of([4096], 0, 8192, 1024)) == ["[4K, 5K)"]
    assert hist_row_labels(lhist_of([3, 5], 0, 10, 1)) == ["[3]", "[4]", "[5]"]
    assert hist_row_labels(lhist_of([-5, 15], -10, 10, 5)) == [
        "[-5, 0)",
        "[0, 5)",
        "[5, 10)",
        "[10, ...)",
    ]
    assert hist_row_labels(lhist_of([-20], -10, 10, 5)) == ["(..., -10)"]
    # step 3 does not divide 10: the overflow row starts at the last edge, 9
    assert hist_row_labels(lhist_of([1, 9], 0, 10, 3)) == ["[0, 3)", "[3, 6)", "[6, 9)",
                                                           "[9, ...)"]
    assert hist_row_labels(lhist_of([12], 0, 10, 3)) == ["[9, ...)"]
    assert lhist_of([12], 0, 10, 3).buckets[0].low == 9
    assert hist_row_labels(lhist_of([1 << 20], 0, 4 << 20, 1 << 20)) == ["[1M, 2M)"]


def test_keyed_hists_and_blank_lines() -> None:
    snap = MapSnapshot(
        "@k",
        AggT("hist"),
        [MapEntry((2,), hist_of([3, 3])), MapEntry((1,), hist_of([2048]))],
        IntT(),
    )
    assert format_map(snap) == (
        f"@k[2]:\n[2, 4)                 2 {FULL}\n\n@k[1]:\n[2K, 4K)               1 {FULL}\n\n"
    )


def test_scalars_multikey_tuples_avg_stats() -> None:
    m = MapSnapshot("@", IntT(), [MapEntry((2, "b"), -3), MapEntry((1, "a"), 5)])
    assert format_map(m) == "@[2, b]: -3\n@[1, a]: 5\n"
    assert format_map(scalar("@a", AvgValue(31, 2), AggT("avg"))) == "@a: 15\n"
    st = scalar("@st", AvgValue(63, 3, stats=True), AggT("stats"))
    assert format_map(st) == "@st: { .count = 3, .average = 21, .total = 63 }\n"
    assert format_map(scalar("@s", "hello", StrT(8))) == "@s: hello\n"
    assert format_map(scalar("@t", (1, "two"))) == "@t: (1, two)\n"
    assert format_map(scalar("@big", 2**64 - 1)) == "@big: 18446744073709551615\n"


def test_top_and_div() -> None:
    m = MapSnapshot(
        "@c", AggT("count"), [MapEntry((k,), v) for k, v in (("a", 10), ("b", 20), ("c", 30))]
    )
    assert format_map(m, top=2) == "@c[b]: 20\n@c[c]: 30\n"
    assert format_map(m, top=1, div=10) == "@c[c]: 3\n"


def test_stacks_as_keys_and_values() -> None:
    s = Stack(("f+1", "g+2"))
    m = MapSnapshot("@", AggT("count"), [MapEntry((s, Stack((), False)), 1)])
    assert format_map(m) == "@[\n    f+1\n    g+2\n, ]: 1\n"
    assert format_map(scalar("@s", s)) == "@s: \n        f+1\n        g+2\n\n"


def test_format_value() -> None:
    assert format_value(123) == "123"
    assert format_value("abc") == "abc"
    assert format_value((1, "a", (2, 3))) == "(1, a, (2, 3))"
    assert format_value(b"ab\x01") == "ab\\x01"
    assert format_value({"a": 1, "b": "x"}) == "{ .a = 1, .b = x }"


def test_records_quote_their_strings() -> None:
    rec = Record(color="green", size=2, t=(1, "a"), r=Record(s="x"))
    assert format_value(rec) == '{ .color = "green", .size = 2, .t = (1, "a"), .r = { .s = "x" } }'
    assert format_map(scalar("@r", Record(a=True))) == "@r: { .a = true }\n"


def test_empty_map_prints_nothing() -> None:
    assert format_map(MapSnapshot("@x", IntT(), [])) == ""


def test_text_output_streams() -> None:
    out, err = io.StringIO(), io.StringIO()
    o = make_output("text", out, err, quiet=False)
    o.attached(1)
    o.printf("hi 5\n")
    o.value(7, IntT())
    o.lost(12)
    o.maps_at_exit(
        [
            scalar("@z", 1),
            MapSnapshot("@empty", IntT(), []),
            scalar("@a", AvgValue(4, 1), AggT("avg")),
        ]
    )
    assert err.getvalue() == "Attached 1 probe\nLost 12 events\n"
    assert out.getvalue() == "hi 5\n7\n\n\n@a: 4\n@z: 1\n"
    quiet_err = io.StringIO()
    make_output("text", io.StringIO(), quiet_err, quiet=True).attached(3)
    assert quiet_err.getvalue() == ""
    err2 = io.StringIO()
    make_output("text", io.StringIO(), err2, quiet=False).attached(3)
    assert err2.getvalue() == "Attached 3 probes\n"


def test_notify_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("__BPFTRACE_NOTIFY_PROBES_ATTACHED", "1")
    out = io.StringIO()
    make_output("text", out, io.StringIO(), quiet=True).attached(2)
    assert out.getvalue() == "__BPFTRACE_NOTIFY_PROBES_ATTACHED\n"


def test_bad_format_name() -> None:
    with pytest.raises(ValueError, match="Invalid output format"):
        make_output("xml", io.StringIO(), io.StringIO())


def test_unused_bucket_type_is_exported() -> None:
    h = Histogram((Bucket(0, None, -1, 2),))
    assert format_value(h).startswith("(..., 0)               2 ")


def test_rich_output_has_the_text_content(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    snaps = [
        scalar("@h", hist_of([5, 1000, -3]), AggT("hist")),
        MapSnapshot("@m", IntT(), [MapEntry((2, "b"), -3), MapEntry((1, "a"), 5)]),
    ]
    out = io.StringIO()
    make_output("rich", out, io.StringIO()).maps_at_exit(snaps)
    # the same lines; rich only pads keyed rows into an aligned table
    assert re.sub(r"\]: +", "]: ", out.getvalue()) == "\n\n" + format_map(snaps[0]) + format_map(snaps[1])


def test_rich_keyed_rows_are_aligned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    snap = MapSnapshot("@k", IntT(), [MapEntry(("bash",), 3), MapEntry(("python3",), 12345678901234)])
    out = io.StringIO()
    make_output("rich", out, io.StringIO()).map(snap)
    assert out.getvalue() == "@k[bash]:                 3\n@k[python3]: 12345678901234\n"


def test_a_key_text_in_parentheses_loses_them() -> None:
    assert format_key(("(x)",)) == "x"
    assert format_key(((1, "a"),)) == "1, a"
    assert format_key(("(x)", 2)) == "(x), 2"
    assert format_key((3, (1, 2))) == "3, (1, 2)"
