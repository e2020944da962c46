"""Python values -> the bytes of map keys and values: the inverse of runtime/decode.py.

One layout rule (pytrace/types.py): every integer is 8 little-endian bytes, composites
put their components at 8-aligned offsets, strings are NUL-padded buffers, padding is
zero (so equal keys are equal bytes). C structs keep their C layout. Encoders are found
by the type's class in `ENCODERS`, so a new type needs one entry (`@encoder(NewT)`);
a type without one takes `bytes` of exactly its size.

Aggregations are per-CPU: `encode_agg` gives one value per CPU that folds back
(runtime/decode.fold_agg) to the value written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from pytrace.resources import MapSpec
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

__all__ = ["ENCODERS", "NotEncodable", "encode_agg", "encode_key", "encode_value",
           "encoder", "map_value"]

MASK64 = (1 << 64) - 1
Encoder = Callable[[Type, object, Sequence[str]], bytes]
ENCODERS: dict[type, Encoder] = {}


class NotEncodable(TypeError):
    """A value of this type cannot be made from Python (a stack id, say)."""


def encoder(*classes: type) -> Callable[[Encoder], Encoder]:
    """Register the encoder of the given Type classes."""
    def register(fn: Encoder) -> Encoder:
        for c in classes:
            ENCODERS[c] = fn
        return fn
    return register


def encode_value(t: Type, v: object, probe_names: Sequence[str] = ()) -> bytes:
    """`v` laid out as type `t` (exactly t.size bytes)."""
    enc = ENCODERS.get(type(t))
    if enc is not None:
        return enc(t, v, probe_names)
    if isinstance(v, bytes | bytearray) and len(v) == t.size:
        return bytes(v)
    raise NotEncodable(f"a {t} value can only be written as {t.size} bytes")


def _int(v: object, what: str) -> int:
    if not isinstance(v, int):
        raise TypeError(f"{what} must be an int, not {type(v).__name__}")
    return int(v)


def _check_range(n: int, bits: int, signed: bool, what: str) -> int:
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if not lo <= n <= hi:
        raise ValueError(f"{n} does not fit in {what} ({lo}..{hi})")
    return n


def _u64(n: int) -> bytes:
    return (n & MASK64).to_bytes(8, "little")


@encoder(IntT)
def _enc_int(t: Type, v: object, names: Sequence[str]) -> bytes:
    assert isinstance(t, IntT)
    return _u64(_check_range(_int(v, str(t)), t.bits, t.signed, str(t)))


@encoder(PtrT)
def _enc_ptr(t: Type, v: object, names: Sequence[str]) -> bytes:
    return _u64(_check_range(_int(v, "a pointer"), 64, False, "a pointer"))


def _text(v: object, what: str) -> bytes:
    if isinstance(v, str):
        return v.encode("utf-8", "surrogateescape")
    if isinstance(v, bytes | bytearray):
        return bytes(v)
    raise TypeError(f"{what} must be a str or bytes, not {type(v).__name__}")


@encoder(StrT)
def _enc_str(t: Type, v: object, names: Sequence[str]) -> bytes:
    assert isinstance(t, StrT)
    data = _text(v, str(t))
    if b"\0" in data or len(data) > t.length - 1:
        raise ValueError(f"{data!r} does not fit in {t} (at most {t.length - 1} bytes, no NUL)")
    return data.ljust(t.size, b"\0")


@encoder(BufT)
def _enc_buf(t: Type, v: object, names: Sequence[str]) -> bytes:
    assert isinstance(t, BufT)
    if not isinstance(v, bytes | bytearray):
        raise TypeError(f"{t} must be bytes, not {type(v).__name__}")
    if len(v) > t.length:
        raise ValueError(f"{len(v)} bytes do not fit in {t}")
    return (len(v).to_bytes(8, "little") + bytes(v)).ljust(t.size, b"\0")


def _items(t: Type, v: object, n: int) -> Sequence[object]:
    if not isinstance(v, tuple | list) or len(v) != n:
        raise TypeError(f"{t} must be a tuple of {n} values, not {v!r}")
    return v


@encoder(TupleT)
def _enc_tuple(t: Type, v: object, names: Sequence[str]) -> bytes:
    assert isinstance(t, TupleT)
    items = _items(t, v, len(t.elems))
    return b"".join(encode_value(e, x, names) for e, x in zip(t.elems, items, strict=True))


@encoder(RecordT)
def _enc_record(t: Type, v: object, names: Sequence[str]) -> bytes:
    assert isinstance(t, RecordT)
    if isinstance(v, Mapping):
        missing = [n for n, _ in t.fields if n not in v]
        if missing:
            raise TypeError(f"{t} needs the fields {', '.join(missing)}")
        v = tuple(v[n] for n, _ in t.fields)
    items = _items(t, v, len(t.fields))
    return b"".join(encode_value(ft, x, names) for (_, ft), x in zip(t.fields, items, strict=True))


@encoder(ArrayT)
def _enc_array(t: Type, v: object, names: Sequence[str]) -> bytes:
    assert isinstance(t, ArrayT)
    return b"".join(encode_value(t.elem, x, names) for x in _items(t, v, t.count))


@encoder(ProbeNameT)
def _enc_probe(t: Type, v: object, names: Sequence[str]) -> bytes:
    if isinstance(v, str):
        if v not in names:
            raise ValueError(f"{v!r} is not a probe of this program")
        return _u64(list(names).index(v))
    return _u64(_check_range(_int(v, "a probe"), 64, False, "a probe index"))


@encoder(SymT)
def _enc_sym(t: Type, v: object, names: Sequence[str]) -> bytes:
    if isinstance(v, Symbol):
        return _u64(v.address) + _u64(v.pid)
    if isinstance(v, int):
        return _u64(v) + _u64(0)
    raise NotEncodable(f"a {t} is written as a Symbol or an address, not {v!r}")


@encoder(StackT)
def _enc_stack(t: Type, v: object, names: Sequence[str]) -> bytes:
    raise NotEncodable(f"a {t} cannot be made in Python (it is a kernel stack id)")


@encoder(VoidT)
def _enc_void(t: Type, v: object, names: Sequence[str]) -> bytes:
    return b""


# ------------------------------------------------------------------ C layout


def _encode_c(t: Type, v: object, size: int) -> bytes:
    """A struct field in C layout: integers take their own width (decode._decode_c)."""
    if isinstance(t, IntT):
        width = max(1, t.bits // 8)
        return _check_range(_int(v, str(t)), t.bits, t.signed, str(t)).to_bytes(
            width, "little", signed=t.signed)
    if isinstance(t, PtrT):
        return _u64(_int(v, "a pointer"))
    if isinstance(t, StrT):
        return _text(v, str(t))[: t.length - 1].ljust(t.length, b"\0")
    if isinstance(t, StructT):
        return _enc_struct(t, v, ())
    if isinstance(v, bytes | bytearray) and len(v) <= size:
        return bytes(v).ljust(size, b"\0")
    raise NotEncodable(f"a {t} field is written as bytes, not {v!r}")


@encoder(StructT)
def _enc_struct(t: Type, v: object, names: Sequence[str]) -> bytes:
    assert isinstance(t, StructT)
    if isinstance(v, bytes | bytearray):
        if len(v) != t.byte_size:
            raise ValueError(f"struct {t.name} is {t.byte_size} bytes, not {len(v)}")
        return bytes(v).ljust(t.size, b"\0")
    if not isinstance(v, Mapping):
        raise TypeError(f"struct {t.name} is written as a dict or bytes, not {v!r}")
    out = bytearray(t.size)
    ends = [fo for _, _, fo in t.fields[1:]] + [t.byte_size]
    for (name, ft, fo), end in zip(t.fields, ends, strict=True):
        if name in v:
            data = _encode_c(ft, v[name], max(0, end - fo))
            out[fo: fo + len(data)] = data
    return bytes(out)


# ------------------------------------------------------------------ maps


def encode_key(spec: MapSpec, key: object, probe_names: Sequence[str] = ()) -> bytes:
    """The BPF key of a user map for a Python key: `()` for an unkeyed map, a value or
    1-tuple for one key, a tuple for several. hist/lhist: the user part only (the
    caller appends the bucket index)."""
    kt = spec.key_type
    if kt is None:
        if key not in ((), None):
            raise KeyError(f"{spec.name} has no keys: use ()")
        return bytes(spec.key_size if spec.kind.is_array else 8)
    if not isinstance(kt, TupleT) and isinstance(key, tuple) and len(key) == 1:
        key = key[0]
    return encode_value(kt, key, probe_names)


def _agg_cpu0(vals: list[int], ncpus: int) -> list[bytes]:
    first = b"".join(_u64(v) for v in vals)
    return [first] + [bytes(len(first))] * (ncpus - 1)


def encode_agg(t: AggT, v: object, ncpus: int) -> list[bytes]:
    """Per-CPU values of a count/sum/min/max/avg/stats element that fold to `v`: the
    value on CPU 0, nothing on the others. An int for avg/stats is one value counted
    once; a Stats (or the AvgValue decode gives) keeps its total and count."""
    if t.kind in ("count", "sum"):
        n = _int(v, f"a {t.kind}")
        return _agg_cpu0([_check_range(n, 64, t.kind == "sum" and t.signed, t.kind)], ncpus)
    if t.kind in ("min", "max"):
        n = _check_range(_int(v, f"a {t.kind}"), 64, t.signed, t.kind)
        return _agg_cpu0([n, 1], ncpus)
    if t.kind in ("avg", "stats"):
        if isinstance(v, Stats | AvgValue):
            total, count = v.total, v.count
        else:
            total, count = _int(v, f"an {t.kind} value"), 1
        return _agg_cpu0([_check_range(total, 64, t.signed, t.kind), count], ncpus)
    raise TypeError(f"a {t.kind} is written as a Histogram")


def map_value(spec: MapSpec, v: object, probe_names: Sequence[str] = ()) -> bytes:
    """The BPF value of a plain (not aggregation) user map element."""
    vt = spec.value_type
    if vt is None:
        raise NotEncodable(f"{spec.name} has no known value type")
    return encode_value(vt, v, probe_names).ljust(spec.value_size, b"\0")
