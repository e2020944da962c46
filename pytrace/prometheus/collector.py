"""A prometheus_client Collector that reads a session's maps at scrape time.

It knows sessions only through `MapSource`: a callable listing the user maps' specs
(static metadata: name, types, key names) and one reading a map now as a MapSnapshot
(the runtime's decoded, CPU-folded view). Nothing runs per event: the BPF programs are
unchanged, maps are read only when Prometheus scrapes.

Thread safety: collect() runs on the HTTP server's threads. It holds a lock while it
reads; `detach()` takes the same lock, so once it returns no scrape is reading and the
session may close its map fds.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pytrace.frozen import frozen
from pytrace.prometheus.mapping import export_map
from pytrace.resources import MapSpec
from pytrace.values import MapSnapshot

__all__ = ["DEFAULT_MAX_KEYS", "MapCollector", "MapSource", "stderr_warning"]

DEFAULT_MAX_KEYS = 1000
KEYS_FAMILY = "pytrace_exporter_map_keys"
DROPPED_FAMILY = "pytrace_exporter_dropped_keys"
_SUFFIXES = {"counter": ("_total", "_created"), "gauge": (), "summary": ("_count", "_sum"),
             "histogram": ("_bucket", "_count", "_sum")}

Warn = Callable[[str], None]


@frozen
class MapSource:
    """What the exporter needs from a session; both are called at scrape time.

    specs: the user maps (MapSpec: name, key and value types, key_names).
    read: the map's content now, decoded and folded over CPUs (raises KeyError, OSError
      or RuntimeFailure when the map cannot be read; that map is then left out).
    """

    specs: Callable[[], Iterable[MapSpec]]
    read: Callable[[str], MapSnapshot]


def stderr_warning(msg: str) -> None:
    """The default warning sink: `WARNING: msg` on stderr, like the runtime's warnings."""
    sys.stderr.write(f"WARNING: {msg}\n")
    sys.stderr.flush()


def _sample_names(m: Metric) -> set[str]:
    return {m.name, *(m.name + s for s in _SUFFIXES.get(m.type, ()))}


class MapCollector(Collector):
    """Every user map of a MapSource as one metric family, plus per-map key gauges."""

    def __init__(self, source: MapSource | None, max_keys: int = DEFAULT_MAX_KEYS,
                 warn: Warn = stderr_warning) -> None:
        self._source: MapSource | None = source
        self.max_keys = max_keys
        self._warn = warn
        self._warned: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def describe(self) -> list[Metric]:
        return []  # families depend on the maps at scrape time; register() must not scrape

    def attach(self, source: MapSource) -> None:
        """Read `source` from the next scrape on (a collector made with None serves
        nothing until then)."""
        with self._lock:
            self._source = source

    def detach(self) -> None:
        """Stop reading the source; waits for a scrape in progress to finish."""
        with self._lock:
            self._source = None

    def collect(self) -> list[Metric]:
        with self._lock:
            if self._source is None:
                return []
            return self._collect(self._source)

    def warn_once(self, map_name: str, what: str, msg: str) -> None:
        if (map_name, what) not in self._warned:
            self._warned.add((map_name, what))
            self._warn(msg)

    def _collect(self, source: MapSource) -> list[Metric]:
        keys = GaugeMetricFamily(KEYS_FAMILY, "Keys in each pytrace map at scrape time",
                                 labels=["map"])
        dropped = GaugeMetricFamily(DROPPED_FAMILY, "Keys of each pytrace map left out of "
                                    "its metric family by the key limit", labels=["map"])
        out: list[Metric] = [keys, dropped]
        used = _sample_names(keys) | _sample_names(dropped)
        try:
            specs = sorted((s for s in source.specs() if s.is_user), key=lambda s: s.name)
        except Exception as exc:  # noqa: BLE001 - a scrape must never fail with a traceback
            self.warn_once("", "specs", f"cannot list the maps for Prometheus: {exc}")
            return out
        for spec in specs:
            metric = self._one(source, spec, keys, dropped)
            if metric is None:
                continue
            names = _sample_names(metric)
            if names & used:
                self.warn_once(spec.name, "clash", f"map {spec.name} is not exported to "
                               f"Prometheus: its metric name {metric.name} is already used")
                continue
            used |= names
            out.append(metric)
        return out

    def _one(self, source: MapSource, spec: MapSpec, keys: GaugeMetricFamily,
             dropped: GaugeMetricFamily) -> Metric | None:
        try:
            exported = export_map(spec, source.read(spec.name), self.max_keys)
        except Exception as exc:  # noqa: BLE001 - one unreadable map must not fail the scrape
            self.warn_once(spec.name, "read", f"cannot export map {spec.name} to Prometheus: "
                           f"{exc}")
            return None
        keys.add_metric([spec.name], float(exported.keys))
        dropped.add_metric([spec.name], float(exported.dropped))
        if exported.skipped:
            self.warn_once(spec.name, "skip", f"map {spec.name} is not exported to "
                           f"Prometheus: {exported.skipped}")
        if exported.dropped:
            self.warn_once(spec.name, "cap", f"map {spec.name} has {exported.keys} keys: "
                           f"Prometheus gets the {self.max_keys} largest "
                           "(--prometheus-max-keys)")
        return exported.metric
