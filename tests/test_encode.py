"""Tests for pytrace.runtime.encode: every encodable type round-trips through decode,
keys follow the map's layout, aggregations fold back to the value written."""

from __future__ import annotations

import pytest

from pytrace.resources import MapKind, MapSpec
from pytrace.runtime.decode import decode_key, decode_value, fold_agg
from pytrace.runtime.encode import (
    ENCODERS,
    NotEncodable,
    encode_agg,
    encode_key,
    encode_value,
    map_value,
)
from pytrace.types import (
    AggT,
    ArrayT,
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
    VoidT,
)
from pytrace.values import AvgValue, Stats, Symbol

CASES: list[tuple[Type, object]] = [
    (IntT(64, True), -5),
    (IntT(64, False), 2**64 - 1),
    (IntT(32, True), -(2**31)),
    (IntT(8, False), 255),
    (PtrT(), 0xFFFF_8000_0000_1000),
    (StrT(16), "python3"),
    (StrT(8), ""),
    (BufT(6), b"ab\0cd"),
    (TupleT((IntT(), StrT(8), IntT(64, False))), (1, "abc", 7)),
    (TupleT((TupleT((IntT(), IntT())), StrT(4))), ((1, 2), "xy")),
    (RecordT((("a", IntT()), ("b", StrT(8)))), {"a": 3, "b": "q"}),
    (ArrayT(IntT(), 3), [1, -2, 3]),
    (ProbeNameT(), "BEGIN"),
]


@pytest.mark.parametrize(("t", "v"), CASES, ids=[str(t) for t, _ in CASES])
def test_round_trip(t: Type, v: object) -> None:
    data = encode_value(t, v, ("BEGIN", "END"))
    assert len(data) == t.size
    assert decode_value(t, data, 0, ("BEGIN", "END")) == v


def test_symbols_keep_address_and_pid() -> None:
    data = encode_value(SymT(False), Symbol("main", 0x401000, 42, kernel=False))
    assert data == (0x401000).to_bytes(8, "little") + (42).to_bytes(8, "little")
    back = decode_value(SymT(False), data)
    assert isinstance(back, Symbol) and back.address == 0x401000 and back.pid == 42
    assert encode_value(SymT(True), 0x1234)[:8] == (0x1234).to_bytes(8, "little")
    with pytest.raises(NotEncodable):
        encode_value(SymT(True), "vfs_read")  # a bare name has no address


def test_c_struct_layout() -> None:
    t = StructT("s", 12, (("a", IntT(32, True), 0), ("b", IntT(16, False), 4),
                          ("c", IntT(8, False), 6), ("name", StrT(4), 8)))
    data = encode_value(t, {"a": -1, "b": 0x1234, "c": 7, "name": "abc"})
    assert len(data) == t.size == 16
    assert decode_value(t, data) == {"a": -1, "b": 0x1234, "c": 7, "name": "abc"}
    raw = bytes(range(12))
    assert encode_value(t, raw)[:12] == raw


@pytest.mark.parametrize(("t", "v", "err"), [
    (IntT(8, False), 256, ValueError),
    (IntT(32, True), 2**31, ValueError),
    (IntT(64, False), -1, ValueError),
    (IntT(), "1", TypeError),
    (StrT(4), "abcd", ValueError),  # no room for the NUL
    (StrT(8), "a\0b", ValueError),
    (BufT(2), b"abc", ValueError),
    (TupleT((IntT(), IntT())), (1,), TypeError),
    (ProbeNameT(), "kprobe:nope", ValueError),
    (StackT(True), (), NotEncodable),
])
def test_refusals(t: Type, v: object, err: type[Exception]) -> None:
    with pytest.raises(err):
        encode_value(t, v, ("BEGIN",))


def test_unknown_types_take_exact_bytes() -> None:
    class NewT(Type):
        __slots__ = ()

        @property
        def size(self) -> int:
            return 8

    assert encode_value(NewT(), b"12345678") == b"12345678"
    with pytest.raises(NotEncodable):
        encode_value(NewT(), 5)
    assert type(VoidT()) in ENCODERS and IntT in ENCODERS


def _spec(key: Type | None, value: Type, kind: MapKind = MapKind.HASH) -> MapSpec:
    size = key.size if key is not None else (4 if kind.is_array else 8)
    return MapSpec("@m", "map_m", kind, size, max(8, value.size), 16, key, value)


def test_keys() -> None:
    one = _spec(IntT(), IntT())
    assert encode_key(one, 7) == encode_key(one, (7,)) == (7).to_bytes(8, "little")
    two = _spec(TupleT((IntT(), StrT(8))), IntT())
    raw = encode_key(two, (1, "ab"))
    assert decode_key(two.key_type, raw) == (1, "ab")
    assert encode_key(_spec(None, IntT()), ()) == bytes(8)
    assert encode_key(_spec(None, AggT("count"), MapKind.PERCPU_ARRAY), ()) == bytes(4)
    with pytest.raises(KeyError):
        encode_key(_spec(None, IntT()), 1)


@pytest.mark.parametrize(("t", "v", "back"), [
    (AggT("count", False), 12, 12),
    (AggT("sum", True), -3, -3),
    (AggT("min", True), -9, -9),
    (AggT("max", False), 40, 40),
    (AggT("avg", True), 5, AvgValue(5, 1)),
    (AggT("stats", True), Stats(4, 10, 40), AvgValue(40, 4, stats=True)),
])
def test_aggregations_fold_back(t: AggT, v: object, back: object) -> None:
    per_cpu = encode_agg(t, v, 3)
    assert len(per_cpu) == 3 and all(len(x) == t.size for x in per_cpu)
    assert fold_agg(t, per_cpu) == back


def test_hist_is_not_a_scalar() -> None:
    with pytest.raises(TypeError):
        encode_agg(AggT("hist"), 1, 2)


def test_plain_values_pad_to_the_value_size() -> None:
    spec = _spec(IntT(), StrT(4))
    assert map_value(spec, "ab") == b"ab".ljust(8, b"\0")
