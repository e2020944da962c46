"""Decoded values (pytrace.values, runtime/decode.py) -> the Python values the API gives:
int for count/sum/min/max/avg, Stats for stats(), Histogram for hist/lhist, tuples for
tuples, `()` for the key of an unkeyed map, the value itself for a single key."""

from __future__ import annotations

from pytrace.types import TupleT, Type
from pytrace.values import AvgValue, MapSnapshot, Stats

__all__ = ["public_key", "snapshot_dict", "to_python"]


def to_python(v: object) -> object:
    """One decoded value as the API shows it."""
    if isinstance(v, AvgValue):
        return Stats(v.count, v.average, v.total) if v.stats else v.average
    if isinstance(v, tuple):
        return tuple(to_python(x) for x in v)
    if isinstance(v, list):
        return [to_python(x) for x in v]
    if isinstance(v, dict):
        return {k: to_python(x) for k, x in v.items()}
    return v


def public_key(key_type: Type | None, key: tuple[object, ...] | None) -> object:
    """A map entry's key: `()` unkeyed, the value for one key, a tuple for several."""
    if key is None:
        return ()
    if isinstance(key_type, TupleT):
        return tuple(to_python(k) for k in key)
    return to_python(key[0])


def snapshot_dict(snap: MapSnapshot) -> dict[object, object]:
    """A map snapshot as a dict in print order."""
    return {public_key(snap.key_type, e.key): to_python(e.value) for e in snap.entries}
