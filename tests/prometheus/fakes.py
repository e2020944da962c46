"""Fake maps for the exporter tests: MapSpecs and snapshots decoded from raw per-CPU
bytes with the runtime's own decoder (no kernel)."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from pytrace.resources import MapKind, MapSpec
from pytrace.runtime.decode import snapshot
from pytrace.types import AggT, IntT, StrT, Type
from pytrace.values import MapSnapshot

COMM = StrT(16)


def u64(*vals: int) -> bytes:
    return b"".join(struct.pack("<Q", v & (1 << 64) - 1) for v in vals)


def comm_key(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return raw[:15].ljust(16, b"\0")


def spec(name: str, value: Type | None, key: Type | None = COMM,
         key_names: tuple[str, ...] = ("comm",), hist: bool = False) -> MapSpec:
    size = 8 if key is None else key.size
    kind = MapKind.PERCPU_HASH if isinstance(value, AggT) else MapKind.HASH
    return MapSpec(name, "m", kind, size + (8 if hist else 0), 16, 4096, key, value,
                   key_names if key is not None else ())


def snap(s: MapSpec, raw: Sequence[tuple[bytes, Sequence[bytes]]]) -> MapSnapshot:
    return snapshot(s, raw, ("tracepoint:syscalls:sys_enter_openat",))


def counts(name: str, per_comm: dict[str | bytes, Sequence[int]]) -> tuple[MapSpec, MapSnapshot]:
    """A count() map keyed by comm: {comm: one count per CPU}."""
    s = spec(name, AggT("count", signed=False))
    return s, snap(s, [(comm_key(c), [u64(v) for v in cpus]) for c, cpus in per_comm.items()])


def hist(name: str, t: AggT, buckets: dict[str, dict[int, Sequence[int]]]) -> tuple[MapSpec, MapSnapshot]:
    """A hist/lhist map keyed by comm: {comm: {bucket index: one count per CPU}}."""
    s = spec(name, t, hist=True)
    raw = [(comm_key(c) + u64(i), [u64(v) for v in cpus])
           for c, per in buckets.items() for i, cpus in per.items()]
    return s, snap(s, raw)


def scalar(name: str, t: Type, per_cpu: Sequence[bytes]) -> tuple[MapSpec, MapSnapshot]:
    s = spec(name, t, key=None)
    return s, snap(s, [(u64(0), list(per_cpu))])


INT = IntT(64, True)
