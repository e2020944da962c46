"""MapCollector: one family per map, warnings once, and detach() versus a running scrape."""

from __future__ import annotations

import threading

from fakes import counts, scalar, spec, u64

from pytrace.prometheus.collector import DROPPED_FAMILY, KEYS_FAMILY, MapCollector, MapSource
from pytrace.resources import MapSpec
from pytrace.types import AggT, IntT, StrT
from pytrace.values import MapSnapshot


def source(*maps: tuple[MapSpec, MapSnapshot]) -> MapSource:
    by_name = {s.name: v for s, v in maps}
    return MapSource(lambda: [s for s, _ in maps], by_name.__getitem__)


def collect(c: MapCollector) -> dict[str, list[tuple[dict[str, str], float]]]:
    return {m.name: [(s.labels, s.value) for s in m.samples] for m in c.collect()}


def test_one_family_per_user_map_plus_key_gauges() -> None:
    internal = MapSpec("__ringbuf", "r", spec("@x", None).kind, 0, 0, 1)
    maps = [counts("@a", {"bash": [1]}), counts("@b", {"x": [1], "y": [2]})]
    src = MapSource(lambda: [internal, *(s for s, _ in maps)], dict((s.name, v) for s, v in maps).__getitem__)
    got = collect(MapCollector(src, warn=lambda m: None))
    assert list(got) == [KEYS_FAMILY, DROPPED_FAMILY, "pytrace_a", "pytrace_b"]
    assert got[KEYS_FAMILY] == [({"map": "@a"}, 1.0), ({"map": "@b"}, 2.0)]


def test_the_key_limit_warns_once_and_counts_what_it_dropped() -> None:
    warnings: list[str] = []
    c = MapCollector(source(counts("@many", {f"c{i}": [i] for i in range(1, 6)})), max_keys=2,
                     warn=warnings.append)
    for _ in range(3):
        got = collect(c)
    assert len(got["pytrace_many"]) == 2
    assert got[DROPPED_FAMILY] == [({"map": "@many"}, 3.0)]
    assert warnings == ["map @many has 5 keys: Prometheus gets the 2 largest "
                        "(--prometheus-max-keys)"]


def test_unexported_clashing_and_unreadable_maps_warn_once_and_the_rest_is_served() -> None:
    warnings: list[str] = []
    strs = spec("@names", StrT(8), key=IntT(64, False), key_names=("tid",))
    clash = scalar("@a_total", IntT(64, True), [u64(1)])  # its samples: pytrace_a_total

    def read(name: str) -> MapSnapshot:
        if name == "@broken":
            raise OSError("Bad file descriptor")
        return {"@a": counts("@a", {"x": [1]})[1], "@a_total": clash[1],
                "@names": MapSnapshot("@names", StrT(8))}[name]

    specs = [counts("@a", {})[0], clash[0], strs, spec("@broken", AggT("count"))]
    c = MapCollector(MapSource(lambda: specs, read), warn=warnings.append)
    for _ in range(2):
        got = collect(c)
    assert "pytrace_a" in got and "pytrace_a_total" not in got and "pytrace_names" not in got
    assert sorted(warnings) == sorted([
        "map @a_total is not exported to Prometheus: its metric name pytrace_a_total is "
        "already used",
        "map @names is not exported to Prometheus: its values (string[8]) are not numbers",
        "cannot export map @broken to Prometheus: Bad file descriptor",
    ])


def test_detach_waits_for_a_scrape_in_progress_and_stops_reading() -> None:
    reading, release = threading.Event(), threading.Event()
    reads: list[str] = []
    s, v = counts("@slow", {"x": [1]})

    def read(name: str) -> MapSnapshot:
        reads.append(name)
        reading.set()
        release.wait(10)
        return v

    c = MapCollector(MapSource(lambda: [s], read), warn=lambda m: None)
    scrape = threading.Thread(target=c.collect)
    scrape.start()
    assert reading.wait(10)
    detach = threading.Thread(target=c.detach)
    detach.start()
    detach.join(0.2)
    assert detach.is_alive()  # the map is being read: its fd must stay open
    release.set()
    detach.join(10)
    scrape.join(10)
    assert not detach.is_alive()
    assert c.collect() == [] and reads == ["@slow"]


def test_a_failing_spec_listing_serves_only_the_key_gauges() -> None:
    def specs() -> list[MapSpec]:
        raise RuntimeError("gone")

    warnings: list[str] = []
    c = MapCollector(MapSource(specs, lambda n: MapSnapshot(n, None)), warn=warnings.append)
    assert list(collect(c)) == [KEYS_FAMILY, DROPPED_FAMILY]
    assert warnings == ["cannot list the maps for Prometheus: gone"]
