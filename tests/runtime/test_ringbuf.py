"""Ring buffer reader against real BPF producers: order, wrap-around, full buffer
accounting, discarded records, poll and fd hygiene."""

from __future__ import annotations

import os
import struct

import pytest
from bpfasm import PID_TGID, RB_RESERVE, RB_SUBMIT, make_object, probe, ringbuf_fn, ringbuf_maps

from pytrace.resources import ProgType
from pytrace.runtime import maps
from pytrace.runtime.attach import attach_all, run_test
from pytrace.runtime.errors import RuntimeFailure
from pytrace.runtime.loader import LoadedObject
from pytrace.runtime.ringbuf import PAGE, RingBuffer

GETPPID = {"category": "syscalls", "event": "sys_enter_getppid"}


def tracepoint_ring(size: int) -> LoadedObject:
    rb, lost = ringbuf_maps(size)
    ir = ringbuf_fn("p", "tracepoint/p", "rb", "lost", 9, os.getpid())
    obj = make_object(ir, [rb, lost], [probe("tracepoint:syscalls:sys_enter_getppid",
                                             "tracepoint", "tracepoint/p",
                                             ProgType.TRACEPOINT, GETPPID)])
    return LoadedObject(obj)


def test_records_from_a_tracepoint_arrive_in_order_across_wraps(open_fds) -> None:
    before = open_fds()
    with tracepoint_ring(PAGE) as lo:
        atts = attach_all(lo.programs)
        ring = RingBuffer(lo.map_fd("__ringbuf"), PAGE)
        seen = 0
        for _ in range(12):  # 12 × 100 × 24 bytes: wraps a one-page buffer several times
            for _ in range(100):
                os.getppid()
            got = ring.drain()
            assert all(struct.unpack("<QQ", r) == (9, os.getpid()) for r in got)
            seen += len(got)
        assert seen == 1200
        assert maps.read_lost(lo.map_fd("__lost")) == 0
        ring.close()
        for a in atts:
            a.close()
    assert open_fds() == before


def test_full_buffer_counts_lost_records() -> None:
    with tracepoint_ring(PAGE) as lo:
        atts = attach_all(lo.programs)
        try:
            with RingBuffer(lo.map_fd("__ringbuf"), PAGE) as ring:
                for _ in range(500):
                    os.getppid()
                got = ring.drain()
                lost = maps.read_lost(lo.map_fd("__lost"))
                assert lost > 0
                assert len(got) + lost == 500
        finally:
            for a in atts:
                a.close()


def test_poll_returns_pending_records_and_times_out_empty() -> None:
    with tracepoint_ring(PAGE * 4) as lo:
        atts = attach_all(lo.programs)
        try:
            with RingBuffer(lo.map_fd("__ringbuf"), PAGE * 4) as ring:
                assert ring.poll(10) == []
                os.getppid()
                assert ring.available() == 24
                assert len(ring.poll(1000)) == 1
                assert ring.available() == 0
                for _ in range(5):
                    os.getppid()
                assert len(ring.drain(limit=2)) == 2
                assert len(ring.drain()) == 3
        finally:
            for a in atts:
                a.close()


def test_discarded_records_are_skipped() -> None:
    rb, lost = ringbuf_maps(PAGE)
    ir = f"""
define i64 @p(ptr %ctx) #0 section "raw_tracepoint/p" {{
entry:
  %pt = call i64 {PID_TGID}()
  %a = call ptr {RB_RESERVE}(ptr @rb, i64 8, i64 0)
  %an = icmp eq ptr %a, null
  br i1 %an, label %second, label %drop
drop:
  store i64 1, ptr %a
  call void inttoptr (i64 133 to ptr)(ptr %a, i64 0)
  br label %second
second:
  %b = call ptr {RB_RESERVE}(ptr @rb, i64 8, i64 0)
  %bn = icmp eq ptr %b, null
  br i1 %bn, label %out, label %keep
keep:
  store i64 2, ptr %b
  call void {RB_SUBMIT}(ptr %b, i64 0)
  br label %out
out:
  ret i64 0
}}
"""
    obj = make_object(ir, [rb, lost], [probe("BEGIN", "BEGIN", "raw_tracepoint/p",
                                             ProgType.RAW_TRACEPOINT)])
    with LoadedObject(obj) as lo, RingBuffer(lo.map_fd("__ringbuf"), PAGE) as ring:
        run_test(lo.prog_fd("BEGIN"))
        run_test(lo.prog_fd("BEGIN"))
        assert ring.drain() == [struct.pack("<Q", 2)] * 2


def test_bad_size_is_refused() -> None:
    with pytest.raises(RuntimeFailure, match="power-of-two"):
        RingBuffer(-1, PAGE * 3)


def _sequence_object(records: list[tuple[int, int, bool]]):  # type: ignore[no-untyped-def]
    """A BEGIN program whose every run sends `records`: (event id, data bytes, discard)."""
    rb, lost = ringbuf_maps(PAGE * 4)
    body = []
    for i, (eid, size, discard) in enumerate(records):
        helper = "133" if discard else "132"
        body.append(f"""
  %r{i} = call ptr {RB_RESERVE}(ptr @rb, i64 {size}, i64 0)
  %n{i} = icmp eq ptr %r{i}, null
  br i1 %n{i}, label %out, label %w{i}
w{i}:
  store i64 {eid}, ptr %r{i}
  call void inttoptr (i64 {helper} to ptr)(ptr %r{i}, i64 0)""")
    ir = f"""
define i64 @p(ptr %ctx) #0 section "raw_tracepoint/p" {{
entry:{''.join(body)}
  br label %out
out:
  ret i64 0
}}
"""
    return make_object(ir, [rb, lost], [probe("BEGIN", "BEGIN", "raw_tracepoint/p",
                                              ProgType.RAW_TRACEPOINT)])


def test_read_groups_records_into_runs_of_one_length_and_id() -> None:
    seq = [(1, 8, False)] * 3 + [(2, 8, False)] * 2 + [(1, 16, False), (1, 8, True),
                                                      (1, 8, False)]
    with LoadedObject(_sequence_object(seq)) as lo, \
            RingBuffer(lo.map_fd("__ringbuf"), PAGE * 4) as ring:
        run_test(lo.prog_fd("BEGIN"))
        batch = ring.read()
        assert batch is not None
        assert [(r.key, r.length, r.count) for r in batch.runs] == [
            (1, 8, 3), (2, 8, 2), (1, 16, 1), (1, 8, 1)]  # the discarded record is skipped
        assert batch.records == 7
        assert batch.record(batch.runs[1], 1) == struct.pack("<Q", 2)
        assert ring.available() > 0  # nothing consumed before release
        batch.release()
        assert ring.available() == 0 and ring.read() is None


def test_read_limits_records_and_stops_at_a_position() -> None:
    seq = [(5, 8, False)] * 10
    with LoadedObject(_sequence_object(seq)) as lo, \
            RingBuffer(lo.map_fd("__ringbuf"), PAGE * 4) as ring:
        run_test(lo.prog_fd("BEGIN"))
        until = ring.producer_pos()
        run_test(lo.prog_fd("BEGIN"))  # 10 more after `until`
        first = ring.read(max_records=4, until=until)
        assert first is not None and first.records == 4
        first.release()
        rest = ring.read(until=until)
        assert rest is not None and [(r.key, r.count) for r in rest.runs] == [(5, 6)]
        rest.release()
        assert ring.read(until=until) is None
        later = ring.read()
        assert later is not None and later.records == 10


def test_read_runs_across_the_wrap_of_the_buffer() -> None:
    seq = [(3, 24, False)] * 100  # 3200 bytes a run of BEGIN: wraps a 16 KiB buffer
    with LoadedObject(_sequence_object(seq)) as lo, \
            RingBuffer(lo.map_fd("__ringbuf"), PAGE * 4) as ring:
        total = 0
        for _ in range(12):
            run_test(lo.prog_fd("BEGIN"))
            batch = ring.read()
            assert batch is not None
            assert {r.key for r in batch.runs} == {3}
            for r in batch.runs:
                assert all(batch.record(r, i)[:8] == struct.pack("<Q", 3) for i in range(r.count))
            total += batch.records
            batch.release()
        assert total == 1200
        assert maps.read_lost(lo.map_fd("__lost")) == 0


def test_a_window_smaller_than_the_buffer_moves_with_the_consumer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from pytrace.runtime import ringbuf

    monkeypatch.setattr(ringbuf, "WINDOW_BYTES", PAGE)  # a one-page window on 4 pages
    seq = [(4, 40, False)] * 150  # 7200 bytes a run: crosses windows and the wrap
    with LoadedObject(_sequence_object(seq)) as lo, \
            RingBuffer(lo.map_fd("__ringbuf"), PAGE * 4) as ring:
        total = 0
        for _ in range(8):
            run_test(lo.prog_fd("BEGIN"))
            got = ring.drain()
            assert all(r[:8] == struct.pack("<Q", 4) and len(r) == 40 for r in got)
            total += len(got)
        assert total == 1200 and ring.available() == 0
        assert maps.read_lost(lo.map_fd("__lost")) == 0


def test_pending_finds_a_record_kind_without_consuming() -> None:
    seq = [(1, 8, False)] * 5 + [(7, 16, False)] + [(1, 8, False)] * 3
    with LoadedObject(_sequence_object(seq)) as lo, \
            RingBuffer(lo.map_fd("__ringbuf"), PAGE * 4) as ring:
        assert not ring.pending({7})
        run_test(lo.prog_fd("BEGIN"))
        before = ring.available()
        assert ring.pending({7}) and not ring.pending({9})
        assert ring.available() == before  # nothing consumed
        batch = ring.read()
        assert batch is not None
        batch.release()
        assert ring.pending({7})  # in the last batch read: maybe not dispatched yet
        assert ring.read() is None  # the reader came back for more: that batch is done
        assert not ring.pending({7})


def test_pending_peeks_without_consuming() -> None:
    with tracepoint_ring(PAGE) as lo:
        atts = attach_all(lo.programs)
        try:
            with RingBuffer(lo.map_fd("__ringbuf"), PAGE) as ring:
                assert not ring.pending({9})
                os.getppid()
                assert ring.pending({9}) and not ring.pending({8})
                assert ring.available() > 0  # nothing consumed by peeking
                assert len(ring.drain()) == 1
                assert ring.pending({9})  # still in the batch being handled
                assert ring.drain() == [] and not ring.pending({9})
        finally:
            for a in atts:
                a.close()
