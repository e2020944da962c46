"""Live views of a session's BPF maps: `Maps` (name -> MapView) and `MapView`, a mutable
mapping read fresh from the kernel on every access and written through to it.

Keys and values are the API's Python values (api/convert.py); writing encodes them with
runtime/encode.py. Keys that cannot be made in Python (stacks) can still be read, and
written or deleted when they already exist: they are found among the map's keys.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping, MutableMapping, ValuesView
from typing import TYPE_CHECKING

from pytrace.api.convert import public_key, snapshot_dict, to_python
from pytrace.resources import MapSpec
from pytrace.runtime import maps as bpfmaps
from pytrace.runtime.decode import decode_key, decode_value, fold_agg, histogram
from pytrace.runtime.encode import NotEncodable, encode_agg, encode_key, map_value
from pytrace.types import AggT
from pytrace.values import Histogram

if TYPE_CHECKING:
    from pytrace.runtime.engine import Engine

__all__ = ["MapView", "Maps"]

Raw = list[tuple[bytes, list[bytes]]]


class MapView(MutableMapping[object, object]):
    """One user map (`@name`, or `@` for the anonymous one), live.

    Reading (`view[key]`, iteration, `len`, `dict(view)`) goes to the kernel each time;
    `view[key] = value`, `del view[key]` and `view.clear()` change the kernel map, so a
    running program sees them at once. Keys: an int, str or bytes for one key, a tuple
    for several, `()` for an unkeyed map. Values: int (count/sum/min/max/avg and
    integers), Stats (stats()), Histogram (hist/lhist), str, bytes, tuples...
    """

    def __init__(self, engine: Engine, name: str) -> None:
        self._engine = engine
        self.name = name

    # ------------------------------------------------------------ plumbing
    @property
    def spec(self) -> MapSpec:
        """The map's layout (kind, key and value types, sizes)."""
        return self._engine.map_specs[self.name]

    @property
    def per_cpu_map(self) -> bool:
        """Whether the kernel keeps one value per CPU (aggregations)."""
        return self.spec.kind.percpu

    def _fd(self) -> int:
        return self._engine.loaded.map_fd(self.name)

    def _names(self) -> tuple[str, ...]:
        groups = self._engine.groups
        return groups[-1].resources.probe_names if groups else ()

    def _is_hist(self) -> bool:
        vt = self.spec.value_type
        return isinstance(vt, AggT) and vt.is_hist

    def _raw(self) -> Raw:
        return bpfmaps.read_all(self._fd(), self.spec)

    def _user_key(self, raw_key: bytes) -> bytes:
        return raw_key[:-8] if self._is_hist() else raw_key

    def _find(self, key: object) -> bytes:
        """The BPF key (user part for hist) of `key`; KeyError when it cannot be made
        and is not in the map."""
        spec = self.spec
        try:
            return encode_key(spec, key, self._names())
        except NotEncodable:
            pass
        names, sym = self._names(), self._engine.symbolizer
        for raw_key, _ in self._raw():
            user = self._user_key(raw_key)
            if public_key(spec.key_type, decode_key(spec.key_type, user, names, sym)) == key:
                return user
        raise KeyError(key) from None

    def _written(self, per_cpu: list[bytes]) -> bool:
        """An array slot that is zero on every CPU was never written (decode.snapshot)."""
        spec = self.spec
        return (not spec.kind.is_array or self.name in self._engine.zeroed
                or any(any(v) for v in per_cpu))

    def _decode(self, per_cpu: list[bytes]) -> object:
        vt = self.spec.value_type
        if isinstance(vt, AggT):
            return to_python(fold_agg(vt, per_cpu))
        if vt is None:
            return bytes(per_cpu[0])
        return to_python(decode_value(vt, per_cpu[0], 0, self._names(), self._engine.symbolizer))

    def _buckets(self, user: bytes, per_cpu: bool = False) -> list[dict[int, int]]:
        """{bucket index: count} of one hist key, folded or one per CPU."""
        out: list[dict[int, int]] = []
        for raw_key, vals in self._raw():
            if raw_key[:-8] != user:
                continue
            index = int.from_bytes(raw_key[-8:], "little")
            counts = [int.from_bytes(v[:8], "little") for v in vals]
            if not per_cpu:
                counts = [sum(counts)]
            while len(out) < len(counts):
                out.append({})
            for cpu, c in enumerate(counts):
                out[cpu][index] = out[cpu].get(index, 0) + c
        return out

    # ------------------------------------------------------------ reading
    def to_dict(self) -> dict[object, object]:
        """Every entry now, in the order bpftrace prints them."""
        return snapshot_dict(self._engine.snapshot(self.name))

    def __getitem__(self, key: object) -> object:
        with self._engine.lock:
            user = self._find(key)
            if self._is_hist():
                counts = self._buckets(user)
                if not counts or not any(counts[0].values()):
                    raise KeyError(key)
                vt = self.spec.value_type
                assert isinstance(vt, AggT)
                return histogram(vt, counts[0])
            vals = bpfmaps.lookup(self._fd(), self.spec, user)
            if vals is None or not self._written(vals):
                raise KeyError(key)
            return self._decode(vals)

    def __contains__(self, key: object) -> bool:
        try:
            self[key]
        except (KeyError, TypeError, ValueError):
            return False
        return True

    def __iter__(self) -> Iterator[object]:
        return iter(list(self.to_dict()))

    def __len__(self) -> int:
        return len(self.to_dict())

    def keys(self) -> KeysView[object]:
        return self.to_dict().keys()

    def items(self) -> ItemsView[object, object]:
        return self.to_dict().items()

    def values(self) -> ValuesView[object]:
        return self.to_dict().values()

    def per_cpu(self, key: object = ()) -> list[object]:
        """The unfolded value of `key` on each CPU (index = CPU number) of a per-CPU
        (aggregation) map; TypeError for other maps, KeyError when absent."""
        spec = self.spec
        vt = spec.value_type
        if not spec.kind.percpu or not isinstance(vt, AggT):
            raise TypeError(f"{self.name} is not a per-CPU map")
        with self._engine.lock:
            user = self._find(key)
            if vt.is_hist:
                counts = self._buckets(user, per_cpu=True)
                if not counts:
                    raise KeyError(key)
                return [histogram(vt, c) for c in counts]
            vals = bpfmaps.lookup(self._fd(), spec, user)
            if vals is None or not self._written(vals):
                raise KeyError(key)
            return [to_python(fold_agg(vt, [v])) for v in vals]

    # ------------------------------------------------------------ writing
    def __setitem__(self, key: object, value: object) -> None:
        spec = self.spec
        vt = spec.value_type
        with self._engine.lock:
            user = self._find(key)
            fd = self._fd()
            if isinstance(vt, AggT) and vt.is_hist:
                self._set_hist(user, value)
            elif isinstance(vt, AggT):
                bpfmaps.update(fd, spec, user, encode_agg(vt, value, bpfmaps.ncpus()))
            else:
                bpfmaps.update(fd, spec, user, map_value(spec, value, self._names()))

    def _set_hist(self, user: bytes, value: object) -> None:
        if not isinstance(value, Histogram):
            raise TypeError(f"{self.name} holds histograms: assign a Histogram, not "
                            f"{type(value).__name__}")
        self._delete_hist(user)
        n = bpfmaps.ncpus()
        for b in value.buckets:
            if b.count:
                per_cpu = [b.count.to_bytes(8, "little")] + [bytes(8)] * (n - 1)
                bpfmaps.update(self._fd(), self.spec, user + b.index.to_bytes(8, "little"),
                               per_cpu)

    def _delete_hist(self, user: bytes) -> int:
        fd, spec = self._fd(), self.spec
        gone = 0
        for raw_key in bpfmaps.keys(fd, spec):
            if raw_key[:-8] == user:
                gone += bpfmaps.delete(fd, raw_key, spec)
        return gone

    def __delitem__(self, key: object) -> None:
        spec = self.spec
        with self._engine.lock:
            user = self._find(key)
            fd = self._fd()
            if self._is_hist():
                if not self._delete_hist(user):
                    raise KeyError(key)
            elif spec.kind.is_array:  # array slots cannot be deleted: zero it
                vals = bpfmaps.lookup(fd, spec, user)
                if vals is None or not self._written(vals):
                    raise KeyError(key)
                self._engine.zeroed.discard(self.name)
                bpfmaps.update(fd, spec, user, bytes(spec.value_size))
            elif not bpfmaps.delete(fd, user, spec):
                raise KeyError(key)

    def clear(self) -> None:
        """Remove every entry (as the language's clear())."""
        self._engine.clear(self.name)

    def __repr__(self) -> str:
        return f"MapView({self.name!r}, {self.to_dict()!r})"


class Maps(Mapping[str, MapView]):
    """A session's user maps by name ("@opens", "@"), each a live MapView."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def __getitem__(self, name: str) -> MapView:
        if name not in self._engine.map_specs:
            raise KeyError(name)
        return MapView(self._engine, name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._engine.map_names())

    def __len__(self) -> int:
        return len(self._engine.map_specs)

    def __repr__(self) -> str:
        return f"Maps({self._engine.map_names()!r})"
