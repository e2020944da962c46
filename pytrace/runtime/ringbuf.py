"""Consume a BPF ring buffer map from userspace (the printf/event hot path).

The consumer page is mapped read-write at offset 0 and the producer page read-only at
offset PAGE; the data area, which the kernel maps twice in a row so records never wrap,
is read through a window of WINDOW_BYTES at the consumer position (remapped as it moves
on), so start-up and our RSS do not grow with the buffer. `drain()` copies records out
(bytes). `read()` is the fast path: it returns
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
# The data is mapped through a window moved along with the consumer: mapping the whole
# area (twice) costs ~0.1 ms per MiB at start and counts every page in our RSS.
WINDOW_BYTES = 4 << 20


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
        self._win: mmap.mmap | None = None
        self._view: memoryview | None = None
        self._base = self._win_len = 0  # the window: data offsets [base, base + len)
        self._last_keys: set[int] = set()  # event ids of the last batch read
        try:
            self._cons = sc.mmap_fd(map_fd, PAGE, 0, writable=True)
            try:
                self._prod = sc.mmap_fd(map_fd, PAGE, PAGE, writable=False)
            except BaseException:
                self._cons.close()
                raise
        except OSError as exc:
            raise RuntimeFailure(f"cannot map the ring buffer: {exc.strerror or exc}") from None
        self._epoll: select.epoll | None = select.epoll()
        self._epoll.register(map_fd, select.EPOLLIN)

    def fileno(self) -> int:
        """An fd that becomes readable when records arrive (the epoll fd)."""
        assert self._epoll is not None
        return self._epoll.fileno()

    def available(self) -> int:
        """Bytes written by producers and not consumed yet."""
        return _U64.unpack_from(self._prod, 0)[0] - _U64.unpack_from(self._cons, 0)[0]

    # ------------------------------------------------------------ the data window
    def _covered(self, off: int, need: int) -> memoryview:
        """The window's view, mapped so that data offsets [off, off + need) are in it
        (off < size; the data is mapped twice, so off + need may pass the size)."""
        if not (self._view is not None and self._base <= off
                and off + need <= self._base + self._win_len):
            base = off - off % PAGE
            want = max(WINDOW_BYTES, off + need - base + PAGE - 1)
            length = min(want - want % PAGE, 2 * self.size - base)
            self._unmap()
            try:
                self._win = sc.mmap_fd(self.fd, length, 2 * PAGE + base, writable=False)
            except OSError as exc:
                raise RuntimeFailure(f"cannot map the ring buffer: {exc.strerror or exc}") from None
            self._view = memoryview(self._win)
            self._base, self._win_len = base, length
        assert self._view is not None
        return self._view

    def _unmap(self) -> None:
        if self._view is not None:
            self._view.release()
            self._view = None
        if self._win is not None:
            try:
                self._win.close()
            except BufferError:  # a caller still holds a slice: unmapped when it is freed
                pass
            self._win = None

    # ------------------------------------------------------------ reading
    def drain(self, limit: int = 0) -> list[bytes]:
        """Every committed record available now (at most `limit` if > 0), copied, without
        waiting; consumed."""
        out: list[bytes] = []
        keys: set[int] = set()
        until = self.producer_pos()
        while not limit or len(out) < limit:
            batch = self.read(max_records=limit - len(out) if limit else 0, until=until)
            if batch is None:
                break
            for run in batch.runs:
                out += [batch.record(run, i) for i in range(run.count)]
            keys |= self._last_keys
            batch.release()
        self._last_keys = keys  # what the caller is about to handle (see pending())
        return out

    def read(self, max_bytes: int = BATCH_BYTES, max_records: int = 0,
             until: int = 0, start: int | None = None) -> Batch | None:
        """The committed records from the consumer position (or `start`) on (about
        `max_bytes` of them, at most `max_records` if > 0, none from position `until` on
        if > 0) as a Batch, without copying; None when there is none. Nothing is consumed
        until the batch is released."""
        assert self._epoll is not None, "ring buffer closed"
        cons = _U64.unpack_from(self._cons, 0)[0] if start is None else start
        prod = _U64.unpack_from(self._prod, 0)[0]
        if until:
            prod = min(prod, until)
        if cons >= prod:
            self._last_keys = set()
            return None
        d0 = cons & self._mask
        view = self._covered(d0, min(prod - cons, max_bytes))
        first = _U32.unpack_from(view, d0 - self._base)[0]
        view = self._covered(d0, (first & LEN_MASK) + 8)
        shift = d0 - self._base - cons  # view offset of position p: p + shift
        limit = min(prod, cons + max_bytes, self._base + self._win_len - shift)
        return self._scan(Batch(self, view), cons, prod, limit, max_records, shift)

    def _scan(self, batch: Batch, cons: int, prod: int, limit: int, max_records: int,
              shift: int) -> Batch | None:
        """Find the runs of committed records from `cons`, wholly before `limit`."""
        view, runs, u32 = batch.view, batch.runs, _U32.unpack_from
        pos = cons
        while pos < limit and not (max_records and batch.records >= max_records):
            off = pos + shift
            hdr = u32(view, off)[0]
            if hdr & BUSY:
                break
            n = hdr & LEN_MASK
            stride = (n + 15) & ~7
            if pos + stride > limit and pos > cons:
                break  # in the next batch (the first record always fits its window)
            if hdr & DISCARD or n < 8:
                pos += stride
                continue
            count = max(1, (min(limit, prod) - pos) // stride)
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
            self._last_keys = set()
            return None
        batch.end = pos
        self._last_keys = {r.key for r in runs}
        return batch

    def pending(self, keys: set[int]) -> bool:
        """Whether a record whose leading u64 (the event id) is in `keys` was in the last
        batch read, or is committed and not consumed yet (nothing is consumed): e.g. an
        exit() record a stuck output write has not reached yet."""
        if keys & self._last_keys:
            return True
        last = self._last_keys
        pos, until = _U64.unpack_from(self._cons, 0)[0], self.producer_pos()
        try:
            while (batch := self.read(start=pos, until=until)) is not None:
                if keys & {r.key for r in batch.runs}:
                    return True
                pos = batch.end
        finally:
            self._last_keys = last
        return False

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
            self._unmap()
            self._prod.close()
            self._cons.close()

    def __enter__(self) -> RingBuffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
