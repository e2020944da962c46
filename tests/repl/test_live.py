"""Tests for pytrace.repl.live: the `.watch` and `.top` layouts from fake snapshots."""

from __future__ import annotations

from rich.console import Console, RenderableType

from pytrace.repl.live import Rates, is_counter, top_view, watch_view
from pytrace.types import AggT, IntT
from pytrace.values import AvgValue, Bucket, Histogram, MapEntry, MapSnapshot

COUNT = AggT("count")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def render(r: RenderableType) -> str:
    console = Console(width=100, color_system=None, record=True, file=open("/dev/null", "w"))
    console.print(r)
    return console.export_text()


def snap(name: str, entries: list[MapEntry], vt: object = COUNT) -> MapSnapshot:
    return MapSnapshot(name, vt, entries)  # type: ignore[arg-type]


def test_rates_per_second_from_the_previous_refresh() -> None:
    clock = Clock()
    rates = Rates(clock)
    assert rates.rate("@", None, 10) is None  # first sight: no rate yet
    clock.now += 2
    assert rates.rate("@", None, 50) == 20.0
    assert rates.rate("@x", (1,), 5) is None  # per key


def test_watch_shows_counters_with_rates_histograms_as_bars_and_keyed_maps() -> None:
    clock = Clock()
    rates = Rates(clock)
    hist = Histogram((Bucket(2, 1, 1, 4), Bucket(3, 2, 3, 8)))

    def snaps(n: int) -> list[MapSnapshot]:
        return [snap("@", [MapEntry(None, n)]),
                snap("@v", [MapEntry(None, 7)], IntT(64, True)),
                snap("@h", [MapEntry(None, hist)], AggT("hist")),
                snap("@k", [MapEntry(("bash",), 3), MapEntry(("python",), n)])]

    render(watch_view(snaps(100), rates, "watching", 1.0, now="12:00:00"))
    clock.now += 1
    text = render(watch_view(snaps(350), rates, "watching @ @v @h @k", 1.0, now="12:00:01"))
    lines = text.splitlines()
    assert lines[0] == "watching @ @v @h @k · every 1s · 12:00:01 · Ctrl-C to stop"
    assert any(line.split() == ["@", "350", "250/s"] for line in lines)
    assert any(line.split() == ["@v", "7"] for line in lines)  # not a counter: no rate
    assert "@h" in text and "[1]" in text and "[2, 4)" in text and "█" in text
    rows = [line.split() for line in lines if line.startswith("@k[")]
    assert rows == [["@k[bash]", "3", "0.0/s"], ["@k[python]", "350", "250/s"]]


def test_watch_names_maps_with_no_entries_yet() -> None:
    text = render(watch_view([snap("@none", [])], Rates(), "watching", 0.5, now="x"))
    assert "no entries yet: @none" in text


def test_top_lists_the_largest_keys_across_maps() -> None:
    clock = Clock()
    rates = Rates(clock)
    a = snap("@a", [MapEntry((1,), 5), MapEntry((2,), 50), MapEntry((3,), 500)])
    b = snap("@b", [MapEntry(("x",), AvgValue(total=90, count=3))], AggT("avg"))
    scalar = snap("@", [MapEntry(None, 10**6)])
    text = render(top_view([a, b, scalar], rates, 3, 1.0, now="t"))
    rows = [line.split() for line in text.splitlines() if line.strip()[:1] == "│"]
    assert [r[1:6] for r in rows] == [["1", "│", "@a", "│", "3"], ["2", "│", "@a", "│", "2"],
                                      ["3", "│", "@b", "│", "x"]]
    assert "1000000" not in text  # keyless maps are not part of a top-N


def test_counters_are_count_and_sum() -> None:
    assert is_counter(snap("@", [], AggT("sum")))
    assert not is_counter(snap("@", [], AggT("max")))
    assert not is_counter(snap("@", [], IntT(64, True)))
