"""The ring buffer's size: perf_rb_pages (environment, config block, Options), else room
for a burst of 1M of the largest record an attached probe sends (no kernel needed)."""

from __future__ import annotations

import pytest

from pytrace.codegen import maps
from pytrace.driver import check_source, generate
from pytrace.passes.context import Options
from pytrace.source import Source

MiB = 1 << 20
PRINTF = 'tracepoint:syscalls:sys_enter_getppid { printf("%d %d\\n", pid, args->__syscall_nr); }'


def ring_bytes(text: str, options: Options | None = None) -> int:
    _, obj = generate(check_source(Source("stdin", text), options or Options()))
    return obj.resources.map(obj.resources.ringbuf_map).max_entries


def test_a_probe_printing_gets_room_for_a_million_records() -> None:
    # record: u64 id, pid, nr = 24 bytes, 32 in the ring with its header
    assert ring_bytes(PRINTF) == 32 * MiB
    with_comm = 'tracepoint:syscalls:sys_enter_getppid { printf("%s %d\\n", comm, pid); }'
    assert ring_bytes(with_comm) == 64 * MiB  # 40 bytes (48 in the ring): the 64 MiB cap


def test_programs_whose_probes_send_nothing_keep_a_small_buffer() -> None:
    assert ring_bytes('BEGIN { printf("hi\\n"); exit(); } END { printf("bye\\n"); }') == MiB
    assert ring_bytes("tracepoint:raw_syscalls:sys_enter { @[comm] = count(); exit(); }") == MiB
    assert ring_bytes("tracepoint:raw_syscalls:sys_enter { @ = count(); }") == MiB


def test_perf_rb_pages_sets_the_size() -> None:
    page = maps.PAGE_SIZE
    assert ring_bytes(PRINTF, Options(config={"perf_rb_pages": 16})) == 16 * page
    assert ring_bytes(PRINTF, Options(config={"perf_rb_pages": 3})) == 4 * page  # power of 2
    assert ring_bytes("config = { perf_rb_pages = 8 } " + PRINTF) == 8 * page
    assert ring_bytes(PRINTF, Options(perf_rb_pages=2)) == 2 * page
    # the environment wins over the config block, which wins over the Options field
    assert ring_bytes("config = { perf_rb_pages = 8 } " + PRINTF,
                      Options(config={"perf_rb_pages": 32}, perf_rb_pages=2)) == 32 * page
    assert ring_bytes("config = { perf_rb_pages = 8 } " + PRINTF,
                      Options(perf_rb_pages=2)) == 8 * page


def test_default_is_capped_by_available_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(maps, "_memory_cap", lambda: 4 * MiB)
    assert maps.default_ringbuf_bytes(24) == 4 * MiB
    monkeypatch.setattr(maps, "_memory_cap", lambda: 64)
    assert maps.default_ringbuf_bytes(24) == maps.RINGBUF_BYTES  # never below 1 MiB
    assert maps.default_ringbuf_bytes(0) == maps.RINGBUF_BYTES
