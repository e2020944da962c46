"""Tests for pytrace.runtime.decode: the layout rule, per-CPU folding, hist grouping."""

from __future__ import annotations

import struct

from pytrace.resources import MapKind, MapSpec
from pytrace.runtime.decode import decode_key, decode_value, fold_agg, histogram, snapshot
from pytrace.types import (
    AggT,
    BufT,
    IntT,
    ProbeNameT,
    PtrT,
    RecordT,
    StackT,
    StrT,
    StructT,
    SymT,
    TupleT,
    Type,
    hist_bucket_index,
    lhist_bucket_index,
)
from pytrace.values import AvgValue, Bucket, Histogram, Stack

# ---- fake map contents in the kernel layout


def u64(*vals: int) -> bytes:
    return b"".join(struct.pack("<Q", v & (2**64 - 1)) for v in vals)


def cstr(s: str, n: int = 64) -> bytes:
    return s.encode().ljust(n, b"\0")


def spec(name: str, value: Type, key: Type | None = None, percpu: bool = True) -> MapSpec:
    hist = isinstance(value, AggT) and value.is_hist
    ksize = (key.size if key else 8) + (8 if hist else 0)
    kind = MapKind.PERCPU_HASH if percpu else MapKind.HASH
    return MapSpec(name, name, kind, ksize, value.size, 1024, key, value)


def hist_raw(values: list[int], k: int = 0, key: bytes = b"") -> list[tuple[bytes, list[bytes]]]:
    """One (key, per-CPU) pair per value, spread over two CPUs (one count each)."""
    return [(key + u64(hist_bucket_index(v, k)), [u64(1), u64(0)]) for v in values]


def lhist_raw(
    values: list[int], lo: int, hi: int, step: int, key: bytes = b""
) -> list[tuple[bytes, list[bytes]]]:
    return [(key + u64(lhist_bucket_index(v, lo, hi, step)), [u64(1)]) for v in values]


def test_integers_by_signedness() -> None:
    data = u64(-1)
    assert decode_value(IntT(64, True), data) == -1
    assert decode_value(IntT(64, False), data) == 2**64 - 1
    assert decode_value(IntT(32, False), u64(2**32 + 5)) == 2**32 + 5  # values >= 2**32
    assert decode_value(PtrT(), u64(0xFFFF8000)) == 0xFFFF8000


def test_strings_stop_at_nul_and_replace_bad_utf8() -> None:
    assert decode_value(StrT(16), cstr("hello", 16)) == "hello"
    assert decode_value(StrT(8), b"ab\xffc\0zzz") == "ab\ufffdc"
    assert decode_value(StrT(4), b"abcdXXXX") == "abcd"  # full buffer, no NUL


def test_tuple_offsets_follow_the_layout_rule() -> None:
    t = TupleT((IntT(), StrT(12), IntT(32, False)))
    data = u64(-7) + cstr("xy", 16) + u64(9)
    assert t.size == len(data)
    assert decode_value(t, data) == (-7, "xy", 9)
    nested = TupleT((IntT(), t))
    assert decode_value(nested, u64(1) + data) == (1, (-7, "xy", 9))


def test_probe_names_buffers_records_and_syms() -> None:
    assert decode_value(ProbeNameT(), u64(1), 0, ["BEGIN", "tracepoint:a:b"]) == "tracepoint:a:b"
    buf = u64(3) + b"\x01\x02\x03\x00\x00\x00\x00\x00"
    assert decode_value(BufT(8), buf) == b"\x01\x02\x03"
    rec = RecordT((("a", IntT()), ("b", StrT(8))))
    assert decode_value(rec, u64(4) + cstr("q", 8)) == {"a": 4, "b": "q"}
    assert type(decode_value(rec, u64(4) + cstr("q", 8))).__name__ == "Record"
    assert decode_value(SymT(True), u64(0x1234, 0)) == "0x1234"


def test_struct_fields_use_c_widths() -> None:
    st = StructT("s", 8, (("x", IntT(32, True), 0), ("y", IntT(16, False), 4)))
    data = (-2).to_bytes(4, "little", signed=True) + (513).to_bytes(2, "little") + b"\0\0"
    assert decode_value(st, data) == {"x": -2, "y": 513}


class FakeSymbolizer:
    def stack(self, kernel: bool, stack_id: int, pid: int, limit: int) -> tuple[str, ...]:
        return (f"f{stack_id}+1", "g+2")[:limit]

    def sym(self, kernel: bool, addr: int, pid: int) -> str:
        return "do_thing"


def test_stacks_through_a_symbolizer() -> None:
    sym = FakeSymbolizer()
    got = decode_value(StackT(True, 5), u64(3, 0), 0, (), sym)
    assert got == Stack(("f3+1", "g+2"), True)
    assert decode_value(StackT(True), u64(-14, 0), 0, (), sym) == Stack((), True)
    assert decode_value(SymT(True), u64(1, 0), 0, (), sym) == "do_thing"


def test_decode_key_shapes() -> None:
    assert decode_key(None, u64(0)) is None
    assert decode_key(IntT(), u64(5)) == (5,)
    t = TupleT((IntT(), StrT(8)))
    assert decode_key(t, u64(1) + cstr("x", 8)) == (1, "x")


def test_fold_count_sum_min_max() -> None:
    assert fold_agg(AggT("count"), [u64(2), u64(3)]) == 5
    assert fold_agg(AggT("sum", signed=True), [u64(-10), u64(3)]) == -7
    assert fold_agg(AggT("sum", signed=False), [u64(2**63), u64(2**63 + 1)]) == 1  # wraps
    # min/max ignore CPUs whose set-flag is 0
    assert fold_agg(AggT("min"), [u64(0, 0), u64(-5, 1), u64(7, 1)]) == -5
    assert fold_agg(AggT("max"), [u64(99, 0), u64(-5, 1), u64(7, 1)]) == 7
    assert fold_agg(AggT("max", signed=False), [u64(-1, 1), u64(7, 1)]) == 2**64 - 1


def test_fold_avg_and_stats() -> None:
    avg = fold_agg(AggT("avg"), [u64(10, 1), u64(21, 1)])
    assert avg == AvgValue(31, 2) and isinstance(avg, AvgValue) and avg.average == 15
    st = fold_agg(AggT("stats"), [u64(-9, 2), u64(0, 0)])
    assert isinstance(st, AvgValue) and st.stats and st.average == -4  # truncates like C


def test_histogram_range_and_bounds() -> None:
    t = AggT("hist")
    h = histogram(t, {0: 1, 3: 2, 5: 0, 6: 1})
    assert [b.index for b in h.buckets] == [0, 1, 2, 3, 4, 5, 6]
    assert h.buckets[0] == Bucket(0, None, -1, 1)
    assert h.buckets[3] == Bucket(3, 2, 3, 2)
    assert h.buckets[6] == Bucket(6, 16, 31, 1)
    assert histogram(t, {4: 0}).buckets == ()


def test_lhist_bounds() -> None:
    t = AggT("lhist", lmin=0, lmax=10, lstep=2)
    h = histogram(t, {0: 1, 2: 1, 6: 1})
    assert h.buckets[0] == Bucket(0, None, -1, 1)
    assert h.buckets[2] == Bucket(2, 2, 3, 1)
    assert h.buckets[-1] == Bucket(6, 10, None, 1)


def test_snapshot_groups_hist_keys_and_sums_cpus() -> None:
    s = spec("@h", AggT("hist"), IntT())
    raw = hist_raw([5, 6, 1000], key=u64(1)) + [(u64(2, 3), [u64(4), u64(5)])]
    snap = snapshot(s, raw)
    assert [e.key for e in snap.entries] == [(1,), (2,)]  # total 3 < total 9
    h1, h2 = snap.entries[0].value, snap.entries[1].value
    assert isinstance(h1, Histogram) and isinstance(h2, Histogram)
    assert h1.total == 3 and h1.buckets[0].low == 4 and h1.buckets[-1].high == 1023
    assert h2.buckets == (Bucket(3, 2, 3, 9),)


def test_snapshot_unkeyed_and_sorted_scalars() -> None:
    snap = snapshot(spec("@c", AggT("count")), [(u64(0), [u64(2), u64(40)])])
    assert snap.is_scalar and snap.entries[0].value == 42
    s = spec("@", IntT(), StrT(8), percpu=False)
    raw = [(cstr("b", 8), [u64(-3)]), (cstr("a", 8), [u64(2**40)]), (cstr("c", 8), [u64(7)])]
    assert [e.value for e in snapshot(s, raw).entries] == [-3, 7, 2**40]
    lh = snapshot(spec("@l", AggT("lhist", lmin=0, lmax=10, lstep=2)), lhist_raw([3, -1], 0, 10, 2))
    assert lh.is_scalar


def test_snapshot_strings_sort_by_key() -> None:
    s = spec("@s", StrT(8), IntT(), percpu=False)
    raw = [(u64(3), [cstr("x", 8)]), (u64(-1), [cstr("y", 8)]), (u64(2), [cstr("z", 8)])]
    assert [e.key for e in snapshot(s, raw).entries] == [(-1,), (2,), (3,)]
