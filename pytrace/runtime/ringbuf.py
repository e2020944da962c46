"""Consume a BPF ring buffer map from userspace (the printf/event hot path).

The consumer page is mapped read-write at offset 0; the producer page plus the data
area, mapped twice by the kernel so records never wrap, read-only at offset PAGE.
`drain()` copies records out one by one (bytes). `read()` is the fast path: it returns
a `Batch`, a view of the committed records found as *runs* (consecutive records with the
same length and the same leading u64, the event id), found by comparing the strided
header and id words of many records at once in C; the caller decodes the runs straight
from the mapping and then `release()`s the batch, which advances the consumer position.
"""

from __future__ import annotations

import mmap
import select
import struct
from dataclasses import dataclass, field
from typing import Literal

from pytrace.runtime import syscalls as sc
from pytrace.runtime.errors import RuntimeFailure

PAGE = mmap.PAGESIZE
BUSY = 1 << 31
DISCARD = 1 << 30
LEN_MASK = DISCARD - 1
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
BATCH_BYTES = 1 << 20  # ring data per read(): what is decoded before the space is freed


@dataclass(slots=True)
class Run:
    """`count` consecutive records of `length` bytes whose first u64 is `key`; the first
    record's data starts at `start` in the batch's view, the next ones every `stride`."""

    key: int
    start: int
    length: int
    stride: int
    count: int


@dataclass(slots=True)
class Batch:
    """Committed records read in place: `view` is the mapped data (valid until
    `release()`), `runs` are in ring order, `end` is the consumer position after them."""

    ring: RingBuffer
    view: memoryview
    runs: list[Run] = field(default_factory=list)
    end: int = 0
    records: int = 0

    def release(self) -> None:
        """Give the records' space back to the producers (decode them first)."""
        self.ring.consume(self.end)

    def record(self, run: Run, i: int) -> bytes:
        """A copy of record `i` of `run` (for the per-record path)."""
        at = run.start + i * run.stride
        return bytes(self.view[at:at + run.length])


def _same_words(view: memoryview, start: int, stride: int, count: int,
                fmt: Literal["I", "Q"], want: bytes) -> int:
    """How many of `count` records, the first at `start`, carry the word `want`
    (format `fmt`) at that place: galloping prefix comparisons, all in C."""
    width = len(want)
    step = stride // width
    col = view[start:start + (count - 1) * stride + width].cast(fmt)[::step]
    good, probe = 1, 2
    while good < count:
        n = min(probe, count)
        if col[good:n].tobytes() == want * (n - good):
            good, probe = n, probe * 2
            continue
        lo, hi = good, n - 1  # col[hi] differs somewhere in [good, n): find the first
        while lo < hi:
            mid = (lo + hi) // 2
            if col[lo:mid + 1].tobytes() == want * (mid + 1 - lo):
                lo = mid + 1
            else:
                hi = mid
        good = lo
        break
    col.release()
    return good


class RingBuffer:
    """Reader of one BPF_MAP_TYPE_RINGBUF map of `size` data bytes."""

    def __init__(self, map_fd: int, size: int) -> None:
        if size <= 0 or size & (size - 1) or size % PAGE:
            raise RuntimeFailure(f"ring buffer size {size} is not a power-of-two multiple "
                                 f"of the page size {PAGE}")
        self.fd = map_fd
        self.size = size
        self._mask = size - 1
        try:
            self._cons = sc.mmap_fd(map_fd, PAGE, 0, writable=True)
            try:
                self._prod = sc.mmap_fd(map_fd, PAGE + 2 * size, PAGE, writable=False)
            except BaseException:
                self._cons.close()
                raise
        except OSError as exc:
            raise RuntimeFailure(f"cannot map the ring buffer: {exc.strerror or exc}") from None
        self._view: memoryview | None = memoryview(self._prod)
        self._epoll: select.epoll | None = select.epoll()
        self._epoll.register(map_fd, select.EPOLLIN)

    def fileno(self) -> int:
        """An fd that becomes readable when records arrive (the epoll fd)."""
        assert self._epoll is not None
        return self._epoll.fileno()

    def available(self) -> int:
        """Bytes written by producers and not consumed yet."""
        return _U64.unpack_from(self._prod, 0)[0] - _U64.unpack_from(self._cons, 0)[0]

    def drain(self, limit: int = 0) -> list[bytes]:
        """Every committed record available now (at most `limit` if > 0), without waiting."""
        prod_map, cons_map, mask = self._prod, self._cons, self._mask
        u32 = _U32.unpack_from
        out: list[bytes] = []
        cons = _U64.unpack_from(cons_map, 0)[0]
        while True:
            prod = _U64.unpack_from(prod_map, 0)[0]
            if cons >= prod:
                break
            busy = False
            while cons < prod:
                off = PAGE + (cons & mask)
                hdr = u32(prod_map, off)[0]
                if hdr & BUSY:
                    busy = True
                    break
                n = hdr & LEN_MASK
                if not hdr & DISCARD:
                    out.append(prod_map[off + 8: off + 8 + n])
                cons += (n + 15) & ~7
                if limit and len(out) >= limit:
                    busy = True
                    break
            _U64.pack_into(cons_map, 0, cons)
            if busy:
                break
        return out

    def read(self, max_bytes: int = BATCH_BYTES, max_records: int = 0,
             until: int = 0) -> Batch | None:
        """The committed records from the consumer position on (about `max_bytes` of
        them, at most `max_records` if > 0, none from position `until` on if > 0) as a
        Batch, without copying; None when there is none. Nothing is consumed until the
        batch is released."""
        view = self._view
        assert view is not None, "ring buffer closed"
        cons = _U64.unpack_from(self._cons, 0)[0]
        prod = _U64.unpack_from(self._prod, 0)[0]
        if until:
            prod = min(prod, until)
        limit = min(prod, cons + max_bytes)
        batch = Batch(self, view)
        pos, mask, u32, runs = cons, self._mask, _U32.unpack_from, batch.runs
        while pos < limit and not (max_records and batch.records >= max_records):
            off = PAGE + (pos & mask)
            hdr = u32(view, off)[0]
            if hdr & BUSY:
                break
            n = hdr & LEN_MASK
            stride = (n + 15) & ~7
            if hdr & DISCARD or n < 8:
                pos += stride
                continue
            count = max(1, min(limit - pos, prod - pos) // stride)
            if max_records:
                count = min(count, max_records - batch.records)
            if count > 1:
                count = _same_words(view, off, stride, count, "I", view[off:off + 4].tobytes())
            if count > 1:
                count = _same_words(view, off + 8, stride, count, "Q",
                                    view[off + 8:off + 16].tobytes())
            runs.append(Run(_U64.unpack_from(view, off + 8)[0], off + 8, n, stride, count))
            batch.records += count
            pos += count * stride
        if pos == cons:
            return None
        batch.end = pos
        return batch

    def producer_pos(self) -> int:
        """Where the producers have reserved up to (records before it may still be busy)."""
        return int(_U64.unpack_from(self._prod, 0)[0])

    def consume(self, pos: int) -> None:
        """Advance the consumer position to `pos` (the end of a batch)."""
        _U64.pack_into(self._cons, 0, pos)

    def poll(self, timeout_ms: int = -1) -> list[bytes]:
        """Records available now, else wait up to timeout_ms (-1: forever) and drain."""
        records = self.drain()
        if records or self._epoll is None:
            return records
        try:
            self._epoll.poll(-1 if timeout_ms < 0 else timeout_ms / 1000.0)
        except InterruptedError:
            pass
        return self.drain()

    def close(self) -> None:
        """Unmap and stop polling (the map fd belongs to the loader)."""
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None
            if self._view is not None:
                self._view.release()
                self._view = None
            self._prod.close()
            self._cons.close()

    def __enter__(self) -> RingBuffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
