"""Pure parts of the REPL session: display rate limiting, per-entry map renaming and
diagnostic re-location (no kernel; the live session is tested in tests/runtime)."""

from __future__ import annotations

from pytrace.diagnostics import Diagnostic, Severity
from pytrace.repl.session import RateLimiter, Screen, _shift
from pytrace.resources import MapKind, MapSpec, Resources
from pytrace.runtime.engine import private_maps as _suffix_internal
from pytrace.source import Span


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_drops_beyond_limit_and_reports_once_per_window() -> None:
    clock = FakeClock()
    rl = RateLimiter(limit=3, window=0.1, clock=clock)
    shown = [rl.admit() for _ in range(10)]
    assert shown == [True] * 3 + [False] * 7
    assert rl.tick() is None  # the window has not ended yet
    clock.now = 0.2
    assert rl.tick() == "[7 lines dropped from the display]\n"
    assert rl.tick() is None  # reported once
    assert rl.admit()  # a new window shows lines again


def test_rate_limiter_quiet_window_has_no_note() -> None:
    clock = FakeClock()
    rl = RateLimiter(limit=5, window=0.1, clock=clock)
    assert all(rl.admit() for _ in range(5))
    clock.now = 1.0
    assert rl.tick() is None


def test_the_repl_sink_writes_each_record_on_its_own() -> None:
    # the screen's rate limit counts writes: the dispatcher must not join records
    import io

    from pytrace.repl.session import make_sink

    for colour in (False, True):
        out: list[str] = []
        rl = RateLimiter(limit=2, window=0.1, clock=FakeClock())
        sink = make_sink(Screen(out.append, rl), io.StringIO(), colour)  # type: ignore[arg-type]
        assert not sink.printf_joined
        sink.printf_many(["a\n", "b\n", "c\n"])
        assert out == ["a\n", "b\n"] and rl.dropped == 1


def test_a_window_ending_mid_flood_still_reports_its_drops() -> None:
    """Lines that keep coming after a window ended (the poller still draining a big
    batch, no tick in between) first report the ended window's drops: every line is
    shown or counted, under any scheduling."""
    clock = FakeClock()
    shown: list[str] = []
    screen = Screen(shown.append, RateLimiter(limit=2, window=0.1, clock=clock))
    for i in range(10):
        clock.now = 0.03 * i  # windows end inside the stream of writes
        screen.write(f"{i}\n")
    clock.now = 1.0
    screen.write("last\n")
    assert shown == ["0\n", "1\n", "[2 lines dropped from the display]\n", "4\n", "5\n",
                     "[2 lines dropped from the display]\n", "8\n", "9\n", "last\n"]


def test_internal_maps_are_renamed_per_entry_user_maps_kept() -> None:
    res = Resources(maps=(
        MapSpec("@x", "map_x", MapKind.HASH, 8, 8, 4096),
        MapSpec("__ringbuf", "ringbuf", MapKind.RINGBUF, 0, 0, 1 << 20),
        MapSpec("__lost", "lost", MapKind.PERCPU_ARRAY, 4, 8, 1),
    ))
    out = _suffix_internal(res, "e3")
    assert [m.name for m in out.maps] == ["@x", "__ringbuf.e3", "__lost.e3"]
    assert [m.symbol for m in out.maps] == ["map_x", "ringbuf", "lost"]  # ELF names kept
    assert (out.ringbuf_map, out.lost_map) == ("__ringbuf.e3", "__lost.e3")
    assert out.map("__ringbuf.e3").max_entries == 1 << 20


def test_shift_relocates_spans_of_the_new_entry_only() -> None:
    diags = [Diagnostic(Severity.ERROR, "new", Span(5, 2, 6, 3)),
             Diagnostic(Severity.ERROR, "old", Span(2, 1, 2, 4)),
             Diagnostic(Severity.WARNING, "nowhere", None)]
    out = _shift(diags, 3)
    assert [d.span for d in out] == [Span(2, 2, 3, 3), Span(2, 1, 2, 4), None]
    assert [d.message for d in out] == ["new", "old", "nowhere"]
