"""Consume a BPF ring buffer map from userspace (the printf/event hot path).

The consumer page is mapped read-write at offset 0; the producer page plus the data
area, mapped twice by the kernel so records never wrap, read-only at offset PAGE.
Records are copied out (bytes) before the consumer position advances past them.
"""

from __future__ import annotations

import mmap
import select
import struct

from pytrace.runtime import syscalls as sc
from pytrace.runtime.errors import RuntimeFailure

PAGE = mmap.PAGESIZE
BUSY = 1 << 31
DISCARD = 1 << 30
LEN_MASK = DISCARD - 1
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")


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
        self._last: list[bytes] = []  # the batch drain() returned last (see pending())
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
        self._last = out
        return out

    def pending(self, event_ids: set[int]) -> bool:
        """Whether a record whose leading u64 (the event id) is in `event_ids` is in the
        last drained batch or committed and not consumed yet (nothing is consumed)."""
        for rec in self._last:
            if len(rec) >= 8 and _U64.unpack_from(rec, 0)[0] in event_ids:
                return True
        prod_map = self._prod
        cons = _U64.unpack_from(self._cons, 0)[0]
        prod = _U64.unpack_from(prod_map, 0)[0]
        while cons < prod:
            off = PAGE + (cons & self._mask)
            hdr = _U32.unpack_from(prod_map, off)[0]
            if hdr & BUSY:
                break
            n = hdr & LEN_MASK
            if not hdr & DISCARD and n >= 8 and _U64.unpack_from(prod_map, off + 8)[0] in event_ids:
                return True
            cons += (n + 15) & ~7
        return False

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
            self._prod.close()
            self._cons.close()

    def __enter__(self) -> RingBuffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
