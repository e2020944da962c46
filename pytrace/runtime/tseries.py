"""Decoding of tseries() maps: per-CPU interval slots folded into TimeSeries values.

Each BPF key is the user key followed by an interval slot (epoch % n); each per-CPU
value is (epoch, value, count, last update ns). Slots of the same epoch from every CPU
are combined the way the aggregation says (the last value is the most recent update's),
slots older than the n intervals before the newest are stale and left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pytrace.resources import MapSpec
from pytrace.types import AggT
from pytrace.values import MapEntry, TimeSeries, cdiv

Raw = bytes | bytearray | memoryview
MASK64 = (1 << 64) - 1


def _slot(data: Raw, signed: bool) -> tuple[int, int, int, int]:
    epoch, value, count, ts = (int.from_bytes(data[i:i + 8], "little") for i in (0, 8, 16, 24))
    if signed and value >> 63:
        value -= 1 << 64
    return epoch, value, count, ts


def _combine(t: AggT, acc: list[int] | None, value: int, count: int, ts: int) -> list[int]:
    """[value, count, ts] of one epoch after adding one CPU's slot."""
    if acc is None:
        return [value, count, ts]
    if t.tagg in ("sum", "avg"):
        acc[0] += value
    elif t.tagg == "min":
        acc[0] = min(acc[0], value)
    elif t.tagg == "max":
        acc[0] = max(acc[0], value)
    elif ts > acc[2]:  # the last value: the most recent update wins
        acc[0] = value
    acc[1] += count
    acc[2] = max(acc[2], ts)
    return acc


def _series(t: AggT, epochs: dict[int, list[int]]) -> TimeSeries:
    last = max(epochs)
    first = max(min(epochs), last - t.buckets + 1)
    points: list[tuple[int, int | None]] = []
    for epoch in range(first, last + 1):
        acc = epochs.get(epoch)
        value = None if acc is None else (cdiv(acc[0], acc[1]) if t.tagg == "avg" else acc[0])
        points.append((epoch * t.interval, value))
    return TimeSeries(t.interval, tuple(points))


def tseries_entries(spec: MapSpec, t: AggT, raw: Sequence[tuple[Raw, Sequence[Raw]]],
                    decode_key: Any) -> list[MapEntry]:
    """One TimeSeries per user key; decode_key(key bytes) gives the key."""
    groups: dict[bytes, dict[int, list[int]]] = {}
    for key, per_cpu in raw:
        user = bytes(key)[:-8]
        epochs = groups.setdefault(user, {})
        for v in per_cpu:
            epoch, value, count, ts = _slot(v, t.signed)
            if count:
                epochs[epoch] = _combine(t, epochs.get(epoch), value, count, ts)
    return [MapEntry(decode_key(user), _series(t, epochs))
            for user, epochs in groups.items() if epochs]
