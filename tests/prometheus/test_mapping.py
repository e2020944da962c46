"""The mapping of decoded maps to metric families (pytrace.prometheus.mapping), checked
through the real exposition formats and prometheus_client's own parsers."""

from __future__ import annotations

import math

import pytest
from fakes import COMM, INT, counts, hist, scalar, snap, spec, u64
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as om_generate
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families as text_parse

from pytrace.prometheus.collector import MapCollector, MapSource
from pytrace.prometheus.mapping import bucket_layout, export_map, metric_kind
from pytrace.resources import MapSpec
from pytrace.types import AggT, IntT, StrT, TupleT, hist_bucket_index, hist_bucket_range
from pytrace.values import MapSnapshot

Samples = dict[str, list[tuple[str, dict[str, str], float]]]


def expose(*maps: tuple[MapSpec, MapSnapshot], openmetrics: bool = False) -> Samples:
    """Serve the maps through a MapCollector, render, and parse back: family -> samples."""
    by_name = {s.name: (s, v) for s, v in maps}
    registry = CollectorRegistry()
    registry.register(MapCollector(MapSource(lambda: [s for s, _ in maps],
                                             lambda n: by_name[n][1]), warn=lambda m: None))
    if openmetrics:
        families = om_parse(om_generate(registry).decode())
    else:
        families = text_parse(generate_latest(registry).decode())
    return {f.name: [(s.name, s.labels, s.value) for s in f.samples] for f in families}


def test_count_is_a_counter_folded_over_cpus_with_named_labels() -> None:
    got = expose(counts("@opens", {"bash": [2, 3], "cat": [0, 1]}))
    assert got["pytrace_opens"] == [("pytrace_opens_total", {"comm": "cat"}, 1.0),
                                    ("pytrace_opens_total", {"comm": "bash"}, 5.0)]


def test_sum_counter_min_max_avg_gauges_and_stats_summary() -> None:
    s_sum = scalar("@bytes", AggT("sum", signed=True), [u64(7), u64(-2)])
    s_min = scalar("@lo", AggT("min"), [u64(9, 1), u64(4, 1), u64(0, 0)])  # CPU 2: unset
    s_max = scalar("@hi", AggT("max"), [u64(9, 1), u64(-4, 1)])
    s_avg = scalar("@mean", AggT("avg"), [u64(10, 3), u64(1, 1)])
    s_stats = scalar("@lat", AggT("stats"), [u64(10, 3), u64(1, 1)])
    got = expose(s_sum, s_min, s_max, s_avg, s_stats)
    assert got["pytrace_bytes"] == [("pytrace_bytes_total", {}, 5.0)]
    assert got["pytrace_lo"] == [("pytrace_lo", {}, 4.0)]
    assert got["pytrace_hi"] == [("pytrace_hi", {}, 9.0)]
    assert got["pytrace_mean"] == [("pytrace_mean", {}, 11 / 4)]  # exact, not truncated
    assert got["pytrace_lat"] == [("pytrace_lat_count", {}, 4.0), ("pytrace_lat_sum", {}, 11.0)]


def test_metric_kinds() -> None:
    assert [metric_kind(AggT(k)) for k in ("count", "sum", "min", "max", "avg", "stats",
                                           "hist", "lhist")] == [
        "counter", "counter", "gauge", "gauge", "gauge", "summary", "histogram", "histogram"]
    assert metric_kind(IntT(32, False)) == "gauge"
    assert metric_kind(StrT(16)) is None
    assert metric_kind(TupleT((INT, INT))) is None


def test_hist_buckets_are_the_log2_buckets_one_to_one_and_cumulative() -> None:
    t = AggT("hist")
    layout = bucket_layout(t)
    assert layout[:6] == ((0, "-1.0"), (1, "0.0"), (2, "1.0"), (3, "3.0"), (4, "7.0"),
                          (5, "15.0"))
    assert len(layout) == hist_bucket_index((1 << 63) - 1) + 1 == 65
    for index, le in layout[1:]:  # every le is the highest value of its log2 bucket
        assert float(le) == float(hist_bucket_range(index)[1])  # type: ignore[arg-type]
    # bash: 2 negatives (CPU 0 and 1), 3 values in [2, 3], 1 value in [64, 127]
    m = hist("@sizes", t, {"bash": {0: [1, 1], hist_bucket_index(2): [3, 0],
                                     hist_bucket_index(100): [0, 1]},
                           "cat": {hist_bucket_index(5): [4]}})
    got = {(lab["comm"], lab["le"]): v for name, lab, v in expose(m)["pytrace_sizes"]
           if name == "pytrace_sizes_bucket"}
    assert len(got) == 2 * 66  # both series have the whole layout and +Inf
    assert [got["bash", le] for le in ("-1.0", "0.0", "1.0", "3.0", "63.0", "127.0",
                                       "9.223372036854776e+18", "+Inf")] == [2, 2, 2, 5, 5, 6, 6, 6]
    assert [got["cat", le] for le in ("3.0", "7.0", "+Inf")] == [0, 4, 4]


def test_hist_with_sub_buckets_matches_the_bucket_rule() -> None:
    t = AggT("hist", hist_bits=2)
    layout = bucket_layout(t)
    for index, le in layout[1:]:
        assert float(le) == float(hist_bucket_range(index, 2)[1])  # type: ignore[arg-type]
    assert layout[-1][0] == hist_bucket_index((1 << 63) - 1, 2)


def test_lhist_buckets_below_min_steps_and_above_max_in_inf_only() -> None:
    t = AggT("lhist", lmin=10, lmax=40, lstep=10)
    assert bucket_layout(t) == ((0, "9.0"), (1, "19.0"), (2, "29.0"), (3, "39.0"))
    m = hist("@l", t, {"bash": {0: [1], 1: [2], 3: [1], 4: [5]}})  # 4: >= 40
    got = [(lab["le"], v) for name, lab, v in expose(m)["pytrace_l"] if name == "pytrace_l_bucket"]
    assert got == [("9.0", 1), ("19.0", 3), ("29.0", 3), ("39.0", 4), ("+Inf", 9)]


def test_histograms_have_no_count_or_sum_and_are_valid_openmetrics() -> None:
    m = hist("@sizes", AggT("hist"), {"bash": {0: [1], 3: [2]}})
    got = expose(m, openmetrics=True)  # the strict parser checks order, +Inf, count/sum
    names = {name for name, _, _ in got["pytrace_sizes"]}
    assert names == {"pytrace_sizes_bucket"}


def test_plain_integer_values_are_gauges_and_strings_are_skipped() -> None:
    ints = spec("@start", INT, key=IntT(64, False), key_names=("tid",))
    strs = spec("@file", StrT(8), key=IntT(64, False), key_names=("tid",))
    got = expose((ints, snap(ints, [(u64(7), [u64(-5)])])),
                 (strs, snap(strs, [(u64(7), [b"abc".ljust(8, b"\0")])])))
    assert got["pytrace_start"] == [("pytrace_start", {"tid": "7"}, -5.0)]
    assert "pytrace_file" not in got
    assert export_map(strs, snap(strs, [])).skipped.startswith("its values (string[8])")


def test_label_values_with_quotes_backslashes_newlines_and_bad_utf8_round_trip() -> None:
    odd = ['a"b', "back\\slash", "new\nline", b"bad\xff\xfe"]
    m = counts("@c", {c: [1] for c in odd})
    for openmetrics in (False, True):
        got = {lab["comm"] for _, lab, _ in expose(m, openmetrics=openmetrics)["pytrace_c"]}
        assert got == {'a"b', "back\\slash", "new\nline", "bad\ufffd\ufffd"}


def test_multi_key_labels_and_positional_fallback() -> None:
    key = TupleT((IntT(64, False), COMM))
    named = spec("@x", AggT("count", False), key=key, key_names=("pid", "filename"))
    anon = spec("@", AggT("count", False), key=key, key_names=())
    raw = [(u64(42) + b"/etc/passwd".ljust(16, b"\0"), [u64(3)])]
    got = expose((named, snap(named, raw)), (anon, snap(anon, raw)))
    assert got["pytrace_x"] == [("pytrace_x_total", {"pid": "42", "filename": "/etc/passwd"}, 3.0)]
    assert got["pytrace_anon"] == [("pytrace_anon_total", {"key0": "42", "key1": "/etc/passwd"},
                                    3.0)]


def test_the_key_limit_keeps_the_largest_entries() -> None:
    s, v = counts("@c", {f"p{i}": [i] for i in range(1, 11)})
    e = export_map(s, v, max_keys=3)
    assert (e.keys, e.dropped) == (10, 7)
    assert e.metric is not None
    assert sorted(smp.labels["comm"] for smp in e.metric.samples) == ["p10", "p8", "p9"]
    assert export_map(s, v, max_keys=0).dropped == 0


def test_avg_of_no_samples_is_nan() -> None:
    e = export_map(*scalar("@mean", AggT("avg"), [u64(0, 0)]))
    assert e.metric is not None and len(e.metric.samples) == 1
    assert math.isnan(e.metric.samples[0].value)


@pytest.mark.parametrize("kind", ["count", "hist"])
def test_an_empty_map_exports_an_empty_family(kind: str) -> None:
    s = spec("@e", AggT(kind), hist=kind == "hist")
    e = export_map(s, snap(s, []))
    assert e.metric is not None and e.metric.samples == [] and e.keys == 0
