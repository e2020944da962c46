"""Decode raw key/value/record bytes by type into the values model (no kernel needed).

One layout rule (pytrace/types.py): every integer is 8 little-endian bytes, composites
put components at 8-aligned offsets, strings are NUL-terminated inside their buffer.
`snapshot` folds per-CPU aggregation values and groups hist/lhist buckets by user key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pytrace.frozen import frozen
from pytrace.resources import MapSpec
from pytrace.types import (
    AggT,
    ArrayT,
    BitfieldT,
    BoolT,
    BufT,
    EnumT,
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
    UserFormatT,
    VoidT,
    hist_bucket_range,
)
from pytrace.values import (
    AvgValue,
    Bucket,
    Buffer,
    EnumValue,
    Histogram,
    MapEntry,
    MapSnapshot,
    Pointer,
    Record,
    Stack,
    Symbol,
    sort_entries,
)

__all__ = ["StrFormat", "Symbolizer", "decode_value", "decode_key", "fold_agg", "histogram",
           "snapshot"]

Raw = bytes | bytearray | memoryview
MASK64 = (1 << 64) - 1


class Symbolizer(Protocol):
    """Resolves stack ids and addresses (implemented by the runtime)."""

    def stack(self, kernel: bool, stack_id: int, pid: int, limit: int) -> tuple[str, ...]:
        """Frames in bpftrace mode; a `mode='perf'|'raw'` keyword selects the other forms."""
        ...

    def sym(self, kernel: bool, addr: int, pid: int) -> str: ...


def _u64(data: Raw, off: int) -> int:
    return int.from_bytes(data[off : off + 8], "little")


def _i64(data: Raw, off: int) -> int:
    return int.from_bytes(data[off : off + 8], "little", signed=True)


def _wrap(v: int, signed: bool) -> int:
    v &= MASK64
    return v - (1 << 64) if signed and v >> 63 else v


@frozen
class StrFormat:
    """How strings print: one whose bytes and NUL fill max_strlen was (probably)
    truncated when it was read, and gets the trailer, as bpftrace decides."""

    max_strlen: int = 1024
    trailer: str = ".."


def _cstr(data: Raw, off: int, length: int, strings: StrFormat | None = None) -> str:
    chunk = bytes(data[off : off + length]).split(b"\0", 1)[0]
    text = chunk.decode("utf-8", errors="replace")
    if strings is not None and len(chunk) + 1 == strings.max_strlen:
        text += strings.trailer
    return text


def decode_value(
    t: Type,
    data: Raw,
    offset: int = 0,
    probe_names: Sequence[str] = (),
    symbolizer: Symbolizer | None = None,
    strings: StrFormat | None = None,
) -> object:
    """Decode one value of type `t` stored at `offset` of `data` (the layout rule)."""
    if isinstance(t, BoolT):
        return _u64(data, offset) != 0
    if isinstance(t, IntT):
        return typed_int(t, _i64(data, offset) if t.signed else _u64(data, offset))
    if isinstance(t, PtrT):
        return Pointer(_u64(data, offset))
    if isinstance(t, StrT):
        return _cstr(data, offset, t.length, strings)
    if isinstance(t, TupleT):
        return tuple(
            decode_value(e, data, offset + o, probe_names, symbolizer, strings)
            for e, o in zip(t.elems, t.offsets(), strict=True)
        )
    if isinstance(t, UserFormatT):
        from pytrace.userformat import render

        return render(t, data, offset)
    if isinstance(t, ProbeNameT):
        i = _u64(data, offset)
        return probe_names[i] if i < len(probe_names) else f"probe#{i}"
    if isinstance(t, BufT):
        n = min(int.from_bytes(data[offset : offset + 4], "little"), t.length)
        return Buffer(data[offset + 8 : offset + 8 + n])
    if isinstance(t, RecordT):
        return Record((name, decode_value(ft, data, offset + fo, probe_names, symbolizer,
                                          strings))
                      for (name, ft), fo in zip(t.fields, t.offsets(), strict=True))
    if isinstance(t, ArrayT):
        return _decode_c(t, data, offset)  # an array is its C image
    if isinstance(t, StackT):
        return _stack(t, _i64(data, offset), _u64(data, offset + 8), symbolizer)
    if isinstance(t, SymT):
        addr, pid = _u64(data, offset), _u64(data, offset + 8)
        name = symbolizer.sym(t.kernel, addr, pid) if symbolizer else (f"0x{addr:x}" if addr else "0")
        return Symbol(name, addr, pid, t.kernel)
    if isinstance(t, StructT):
        return _decode_struct(t, data, offset)
    if isinstance(t, AggT):
        return fold_agg(t, [bytes(data[offset : offset + t.size])])
    if isinstance(t, VoidT):
        return None
    return bytes(data[offset : offset + t.size])


def _stack(t: StackT, stack_id: int, pid: int, symbolizer: Symbolizer | None) -> Stack:
    if stack_id < 0 or symbolizer is None:
        return Stack((), t.kernel, t.mode)
    if t.mode == "bpftrace":
        frames = symbolizer.stack(t.kernel, stack_id, pid, t.limit)
    else:  # the keyword only when needed: bpftrace-mode symbolizers need not know modes
        frames = symbolizer.stack(t.kernel, stack_id, pid, t.limit, mode=t.mode)  # type: ignore[call-arg]
    return Stack(tuple(frames), t.kernel, t.mode)


def typed_int(t: IntT, v: int) -> object:
    """An integer as its type prints it: bool, enum (symbolic) or a plain int."""
    if isinstance(t, BoolT):
        return v != 0
    if isinstance(t, EnumT):
        return EnumValue(v, t.symbol(v))
    return v


def _decode_c(t: Type, data: Raw, off: int) -> object:
    """A value in C layout (struct members, array elements): integers take their own
    width, bitfields their bits."""
    if isinstance(t, BitfieldT):
        word = int.from_bytes(data[off : off + t.load_size], "little")
        return typed_int(t, t.extract(word))
    if isinstance(t, IntT):
        width = max(1, t.bits // 8)
        return typed_int(t, int.from_bytes(data[off : off + width], "little", signed=t.signed))
    if isinstance(t, PtrT):
        return Pointer(_u64(data, off))
    if isinstance(t, StrT):
        return _cstr(data, off, t.length)
    if isinstance(t, StructT):
        return _decode_struct(t, data, off)
    if isinstance(t, ArrayT):
        step = t.elem.csize
        return [_decode_c(t.elem, data, off + i * step) for i in range(t.count)]
    return bytes(data[off : off + t.size])


def _decode_struct(t: StructT, data: Raw, offset: int) -> object:
    if not t.fields:
        return bytes(data[offset : offset + t.byte_size])
    out: dict[str, object] = {}
    for name, ft, fo in t.fields:
        value = _decode_c(ft, data, offset + fo)
        if not name and isinstance(value, dict):
            out.update(value)  # an anonymous member's fields are the struct's
        else:
            out[name] = value
    return out


def decode_key(
    key_type: Type | None,
    data: Raw,
    probe_names: Sequence[str] = (),
    symbolizer: Symbolizer | None = None,
    strings: StrFormat | None = None,
) -> tuple[object, ...] | None:
    """A map key as its components: None when unkeyed, a 1-tuple for a single key."""
    if key_type is None:
        return None
    v = decode_value(key_type, data, 0, probe_names, symbolizer, strings)
    return v if isinstance(key_type, TupleT) and isinstance(v, tuple) else (v,)


# ------------------------------------------------------------------ aggregations


def fold_agg(t: AggT, per_cpu: Sequence[Raw]) -> object:
    """Fold the per-CPU values of a count/sum/min/max/avg/stats map element."""
    if t.kind in ("count", "sum"):
        return _wrap(sum(_u64(v, 0) for v in per_cpu), t.signed and t.kind == "sum")
    if t.kind in ("min", "max"):
        read = _i64 if t.signed else _u64
        vals = [read(v, 0) for v in per_cpu if _u64(v, 8)]
        if not vals:
            return 0
        return min(vals) if t.kind == "min" else max(vals)
    if t.kind in ("avg", "stats"):
        total = _wrap(sum(_u64(v, 0) for v in per_cpu), t.signed)
        count = sum(_u64(v, 8) for v in per_cpu) & MASK64
        return AvgValue(total, count, stats=t.kind == "stats")
    raise ValueError(f"fold_agg: {t.kind} is not a scalar aggregation")


def _bucket(t: AggT, index: int, count: int) -> Bucket:
    if t.kind == "hist":
        low, high = hist_bucket_range(index, t.hist_bits)
        return Bucket(index, low, high, count)
    top = 1 + (t.lmax - t.lmin) // t.lstep
    if index == 0:
        return Bucket(0, None, t.lmin - 1, count)
    if index >= top:  # from the last edge: max, or below it when step does not divide
        return Bucket(index, t.lmin + (top - 1) * t.lstep, None, count)
    low = t.lmin + (index - 1) * t.lstep
    return Bucket(index, low, low + t.lstep - 1, count)


def histogram(t: AggT, counts: dict[int, int]) -> Histogram:
    """The printed range of a hist/lhist from {bucket index: count}: first to last
    non-empty bucket, empty buckets inside it included."""
    nonzero = [i for i, c in counts.items() if c]
    buckets: tuple[Bucket, ...] = ()
    if nonzero:
        lo, hi = min(nonzero), max(nonzero)
        buckets = tuple(_bucket(t, i, counts.get(i, 0)) for i in range(lo, hi + 1))
    return Histogram(buckets, t.kind, t.hist_bits, t.lmin, t.lmax, t.lstep)


def _hist_entries(
    spec: MapSpec,
    t: AggT,
    raw: Sequence[tuple[Raw, Sequence[Raw]]],
    probe_names: Sequence[str],
    symbolizer: Symbolizer | None,
    strings: StrFormat | None = None,
) -> list[MapEntry]:
    groups: dict[bytes, dict[int, int]] = {}
    for key, per_cpu in raw:
        kb = bytes(key)
        user, index = kb[:-8], _u64(kb, len(kb) - 8)
        counts = groups.setdefault(user, {})
        counts[index] = counts.get(index, 0) + sum(_u64(v, 0) for v in per_cpu)
    return [
        MapEntry(decode_key(spec.key_type, user, probe_names, symbolizer, strings),
                 histogram(t, c))
        for user, c in groups.items()
    ]


def snapshot(
    spec: MapSpec,
    raw: Sequence[tuple[Raw, Sequence[Raw]]],
    probe_names: Sequence[str] = (),
    symbolizer: Symbolizer | None = None,
    zeroed: bool = False,
    strings: StrFormat | None = None,
) -> MapSnapshot:
    """Decode a map read by the runtime: (key bytes, per-CPU value bytes) pairs.

    Non-per-CPU maps have one value per key. Entries come back in print order.
    An array map's slot that is zero on every CPU was never written (count, avg,
    stats, min and max always leave a non-zero byte), so it is not an entry — unless
    the map was zero()ed, which `zeroed` says.
    """
    vt = spec.value_type
    if spec.kind.is_array and spec.is_user and not zeroed:
        raw = [(k, v) for k, v in raw if any(any(b) for b in v)]
    if isinstance(vt, AggT) and vt.is_hist:
        entries = _hist_entries(spec, vt, raw, probe_names, symbolizer, strings)
    elif isinstance(vt, AggT) and vt.kind == "tseries":
        from pytrace.runtime.tseries import tseries_entries

        entries = tseries_entries(spec, vt, raw, lambda k: decode_key(
            spec.key_type, k, probe_names, symbolizer, strings))
    else:
        entries = []
        for key, per_cpu in raw:
            k = decode_key(spec.key_type, key, probe_names, symbolizer, strings)
            if isinstance(vt, AggT):
                v = fold_agg(vt, per_cpu)
            elif vt is None:
                v = bytes(per_cpu[0]) if per_cpu else b""
            else:
                v = decode_value(vt, per_cpu[0], 0, probe_names, symbolizer, strings)
            entries.append(MapEntry(k, v))
    return MapSnapshot(spec.name, vt, sort_entries(entries, vt), spec.key_type)
