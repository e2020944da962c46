"""One decoded map (MapSnapshot + its MapSpec) as Prometheus metric families. Pure.

count, sum -> counter; min, max, avg -> gauge; stats -> summary (a _count/_sum pair);
hist, lhist -> histogram with one `le` bucket per pytrace bucket (the whole layout of the
map, so every series of a map — on every host — has the same buckets) and `+Inf`, no
_count/_sum (the kernel keeps no sum; the count is the `+Inf` bucket);
integer values -> gauge; strings, stacks, tuples and other values are not exported.
docs/prometheus.md is the user-facing description.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.utils import floatToGoString

from pytrace.prometheus.naming import family_name, label_names, label_value
from pytrace.resources import MapSpec
from pytrace.types import AggT, IntT, PtrT, Type, hist_bucket_index, hist_bucket_range
from pytrace.values import AvgValue, Histogram, MapEntry, MapSnapshot

__all__ = ["Exported", "bucket_layout", "export_map", "metric_kind"]

HIST_MAX_VALUE = (1 << 63) - 1  # hist() buckets signed 64-bit values
RESERVED = {"histogram": ("le",), "summary": ("quantile",)}


@dataclass(slots=True)
class Exported:
    """The result of exporting one map.

    metric: the family, or None when the map's values are not exported (`skipped` says why).
    keys: entries in the map; dropped: entries left out by the key limit.
    """

    metric: Metric | None
    keys: int = 0
    dropped: int = 0
    skipped: str = ""
    names: tuple[str, ...] = field(default_factory=tuple)


def metric_kind(value_type: Type | None) -> str | None:
    """The Prometheus type a map's values export as, or None when they are not exported."""
    if isinstance(value_type, AggT):
        return {"count": "counter", "sum": "counter", "min": "gauge", "max": "gauge",
                "avg": "gauge", "stats": "summary", "hist": "histogram",
                "lhist": "histogram"}.get(value_type.kind)
    if isinstance(value_type, IntT | PtrT):
        return "gauge"
    return None


@lru_cache(maxsize=64)
def bucket_layout(t: AggT) -> tuple[tuple[int, str], ...]:
    """(bucket index, `le`) for every finite bucket of a hist/lhist, lowest first.

    hist: the negative bucket (le -1), then every log2 (or log2/2^k) bucket up to the one
    holding 2^63-1, each with le = its highest value (values are integers, so `le` is
    exact). lhist: below-min (le min-1), then each step (le = its highest value); the
    at-or-above-max bucket is `+Inf` only.
    """
    if t.kind == "hist":
        last = hist_bucket_index(HIST_MAX_VALUE, t.hist_bits)
        out = []
        for i in range(last + 1):
            high = hist_bucket_range(i, t.hist_bits)[1]
            out.append((i, floatToGoString(float(-1 if high is None else high))))
        return tuple(out)
    top = 1 + (t.lmax - t.lmin) // t.lstep
    return tuple((i, floatToGoString(float(t.lmin - 1 if i == 0 else t.lmin + i * t.lstep - 1)))
                 for i in range(top))


def _cumulative(t: AggT, h: Histogram) -> list[tuple[str, float]]:
    counts = {b.index: b.count for b in h.buckets}
    out: list[tuple[str, float]] = []
    running = 0
    for index, le in bucket_layout(t):
        running += counts.get(index, 0)
        out.append((le, float(running)))
    out.append(("+Inf", float(h.total)))
    return out


def _help(spec: MapSpec, t: Type | None) -> str:
    keys = ", ".join(spec.key_names)
    return f"pytrace map {spec.name}{f'[{keys}]' if keys else ''}: {t}"


def _new_family(kind: str, name: str, doc: str, labels: Sequence[str]) -> Metric:
    cls = {"counter": CounterMetricFamily, "gauge": GaugeMetricFamily,
           "summary": SummaryMetricFamily, "histogram": HistogramMetricFamily}[kind]
    return cls(name, doc, labels=list(labels))  # type: ignore[abstract]


def _add(m: Metric, t: Type | None, labels: list[str], value: object) -> None:
    if isinstance(m, HistogramMetricFamily):
        assert isinstance(t, AggT) and isinstance(value, Histogram)
        # Buckets only: the kernel keeps no sum, and OpenMetrics allows _count only
        # with _sum; the count is the +Inf bucket.
        m.add_metric(labels, _cumulative(t, value), None)
    elif isinstance(m, SummaryMetricFamily):
        assert isinstance(value, AvgValue)
        m.add_metric(labels, value.count, float(value.total))
    elif isinstance(value, AvgValue):
        m.add_metric(labels, value.total / value.count if value.count else math.nan)  # type: ignore[attr-defined]
    elif isinstance(value, int):
        m.add_metric(labels, float(value))  # type: ignore[attr-defined]


def _arity(entries: Sequence[MapEntry]) -> int:
    for e in entries:
        return 0 if e.key is None else len(e.key)
    return 0


def export_map(spec: MapSpec, snap: MapSnapshot, max_keys: int = 0) -> Exported:
    """The metric family of one map; at most `max_keys` entries (0: no limit), keeping
    the largest values (the last ones in print order)."""
    t = spec.value_type if spec.value_type is not None else snap.value_type
    kind = metric_kind(t)
    entries = snap.entries
    if kind is None:
        return Exported(None, len(entries), skipped=f"its values ({t}) are not numbers")
    dropped = max(0, len(entries) - max_keys) if max_keys else 0
    if dropped:
        entries = entries[dropped:]
    names = label_names(spec.key_names, _arity(entries), RESERVED.get(kind, ()))
    family = _new_family(kind, family_name(spec.name), _help(spec, t), names)
    for e in entries:
        labels = [label_value(k) for k in e.key] if e.key is not None else []
        if len(labels) == len(names):
            _add(family, t, labels, e.value)
    return Exported(family, len(snap.entries), dropped, names=names)
