"""One BTF blob (vmlinux or a module's split BTF): types decoded lazily by id.

The blob is kept as bytes or an mmap; `offsets` (where each type's record starts, in
u32 words) is the only per-type data held in memory, and it can come from the on-disk
index cache. A type is decoded into a `BtfType` the first time it is asked for.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterator
from typing import NamedTuple

from pytrace.btf import format as F


class Member(NamedTuple):
    """A struct/union member: bit_size 0 unless it is a bitfield."""

    name: str
    type_id: int
    bit_offset: int
    bit_size: int


class BtfType:
    """One decoded type record. `ref` is the referenced type (pointee, typedef target,
    element type of an array, return type of a func_proto, prototype of a func, type of
    a var, target of a decl_tag); `size` is the byte size where the kind has one.
    (A plain slotted class: importing it costs far less than a dataclass.)"""

    __slots__ = ("id", "kind", "name", "kflag", "vlen", "size", "ref", "encoding", "bits",
                 "int_offset", "nelems", "index_type", "members", "values", "params",
                 "linkage", "vars", "component_idx")

    def __init__(self, id: int, kind: int, name: str, kflag: bool, vlen: int, size: int = 0,
                 ref: int = 0, encoding: int = 0, bits: int = 0, int_offset: int = 0,
                 nelems: int = 0, index_type: int = 0, members: tuple[Member, ...] = (),
                 values: tuple[tuple[str, int], ...] = (),
                 params: tuple[tuple[str, int], ...] = (), linkage: int = 0,
                 vars: tuple[tuple[int, int, int], ...] = (), component_idx: int = -1) -> None:
        self.id, self.kind, self.name, self.kflag, self.vlen = id, kind, name, kflag, vlen
        self.size, self.ref = size, ref
        self.encoding, self.bits, self.int_offset = encoding, bits, int_offset  # int
        self.nelems, self.index_type = nelems, index_type  # array
        self.members = members  # struct, union
        self.values = values  # enum, enum64
        self.params = params  # func_proto
        self.linkage = linkage  # var, func
        self.vars = vars  # datasec: (type, offset, size)
        self.component_idx = component_idx  # decl_tag

    def __repr__(self) -> str:
        return f"BtfType({self.id}, {self.kind_name}, {self.name!r})"

    @property
    def kind_name(self) -> str:
        return F.KIND_NAMES.get(self.kind, "unknown")

    @property
    def signed(self) -> bool:
        """Signedness of an int, enum or enum64."""
        if self.kind == F.INT:
            return bool(self.encoding & F.INT_SIGNED)
        return self.kflag if self.kind in (F.ENUM, F.ENUM64) else False


_SIZED = frozenset({F.INT, F.ENUM, F.STRUCT, F.UNION, F.DATASEC, F.FLOAT, F.ENUM64})
VOID = BtfType(0, 0, "void", False, 0)


def build_offsets(words: memoryview) -> array:
    """The word index at which every type record starts (type ids in order).

    The tables are indexed by the info word's top byte (kind plus the kind_flag bit),
    which saves a mask per record: this loop is the whole cost of a cold index."""
    out: list[int] = []
    append = out.append
    fixed, per = F.FIXED_WORDS * 8, F.VLEN_WORDS * 8
    i, n = 0, len(words)
    while i < n:
        append(i)
        info = words[i + 1]
        top = info >> 24
        i += fixed[top] + per[top] * (info & 0xFFFF)
    if i != n:
        raise F.BtfFormatError("truncated type record")
    return array("I", out)


class BtfData:
    """A BTF blob. `base` is vmlinux for a module's split BTF (ids and string offsets
    continue the base's).

    Names are found without any name index: the string section is searched for the
    name (C speed), then the type section for records whose name_off is that string's
    offset (checked against `offsets`, so a matching size or type id is not taken)."""

    def __init__(self, name: str, data: bytes, base: BtfData | None = None,
                 offsets: array | None = None) -> None:
        self.name = name
        self.data = data
        self.base = base
        tstart, tlen, sstart, slen = F.parse_header(data)
        self._tstart, self._tend = tstart, tstart + tlen
        self._sstart, self._send = sstart, sstart + slen
        self.first_id: int = base.end_id if base is not None else 1
        self.str_base: int = base.str_end if base is not None else 0
        self.str_end: int = self.str_base + slen
        self.words = memoryview(data)[tstart:tstart + tlen].cast("I")
        self.offsets = offsets if offsets is not None else build_offsets(self.words)
        self.end_id: int = self.first_id + len(self.offsets)
        self._cache: dict[int, BtfType] = {}
        self._named: dict[str, list[int]] = {}
        self._align: dict[int, int] = {}
        self.index_key = b""  # set by btf.index when the index is cached

    # ------------------------------------------------------------------ strings
    def name_bytes(self, off: int) -> bytes:
        if off < self.str_base and self.base is not None:
            return self.base.name_bytes(off)
        pos = self._sstart + off - self.str_base
        end = self.data.find(b"\0", pos, self._send)
        return self.data[pos:end if end >= 0 else self._send]

    def string(self, off: int) -> str:
        return self.name_bytes(off).decode("utf-8", "replace") if off else ""

    def string_offsets(self, name: bytes) -> list[int]:
        """Offsets of every copy of string `name` in this blob's own string section."""
        data, out = self.data, []
        if data[self._sstart:self._sstart + len(name) + 1] == name + b"\0":
            out.append(self.str_base)  # split BTF's section need not start with ""
        needle = b"\0" + name + b"\0"
        pos = data.find(needle, self._sstart, self._send)
        while pos >= 0:
            out.append(pos + 1 - self._sstart + self.str_base)
            pos = data.find(needle, pos + 1, self._send)
        return out

    def strings_matching(self, pattern: bytes) -> dict[int, bytes]:
        """{offset: string} of the strings in this blob's section matching a regex."""
        import re

        section = self.data[self._sstart:self._send]
        rx = re.compile(rb"(?<=\0)(" + pattern + rb")(?=\0)")
        return {m.start() + self.str_base: m.group(1) for m in rx.finditer(section)}

    def ids_with_name_off(self, off: int) -> list[int]:
        """Ids of this blob's types whose name is the string at `off`."""
        if not off:
            return []
        import re

        offsets, out, start = self.offsets, [], self._tstart
        needle = re.compile(re.escape(off.to_bytes(4, "little")))
        for m in needle.finditer(self.data, start, self._tend):  # regex: C speed, all hits
            rel = m.start() - start
            if rel % 4 == 0:
                i = bisect.bisect_left(offsets, rel // 4)
                if i < len(offsets) and offsets[i] == rel // 4:
                    out.append(self.first_id + i)
        return out

    # -------------------------------------------------------------------- ids
    def owns(self, type_id: int) -> bool:
        return self.first_id <= type_id < self.end_id

    def raw_name(self, type_id: int) -> bytes:
        """The name of a type without decoding it (b'' when anonymous)."""
        if type_id < self.first_id:
            return self.base.raw_name(type_id) if self.base is not None else b""
        off = self.words[self.offsets[type_id - self.first_id]]
        return self.name_bytes(off) if off else b""

    def raw_kind(self, type_id: int) -> int:
        if type_id < self.first_id:
            return self.base.raw_kind(type_id) if self.base is not None else 0
        return (self.words[self.offsets[type_id - self.first_id] + 1] >> 24) & 0x1F

    def ids_named(self, name: str) -> list[int]:
        """Every type id of this blob whose name is exactly `name` (any kind), in id order."""
        found = self._named.get(name)
        if found is None:
            key = name.encode()
            offs = self.string_offsets(key) if key else []
            if key and self.base is not None:
                offs += self.base.string_offsets(key)
            found = self._named[name] = sorted(i for o in offs for i in self.ids_with_name_off(o))
        return list(found)

    def named_ids(self, kinds: frozenset[int] | None = None) -> Iterator[int]:
        """Every named type of this blob (of `kinds`), in id order: a full walk."""
        words, offsets, first = self.words, self.offsets, self.first_id
        for idx, w in enumerate(offsets):
            if words[w] and (kinds is None or (words[w + 1] >> 24) & 0x1F in kinds):
                yield first + idx

    def align(self, type_id: int) -> int:
        """C alignment of a type, read straight from the records (no decoding, memoised):
        1 for a struct whose layout shows it is packed."""
        if type_id < self.first_id:
            return self.base.align(type_id) if self.base is not None else 1
        found = self._align.get(type_id)
        if found is None:
            found = self._align[type_id] = self._raw_align(type_id)
        return found

    def _raw_align(self, type_id: int) -> int:
        words = self.words
        w = self.offsets[type_id - self.first_id]
        info, size_or_type = words[w + 1], words[w + 2]
        kind, vlen, kflag = (info >> 24) & 0x1F, info & 0xFFFF, info >> 31
        if kind in (F.INT, F.ENUM, F.ENUM64, F.FLOAT):
            return max(1, min(8, size_or_type))
        if kind == F.PTR:
            return 8
        if kind in (F.TYPEDEF, F.VOLATILE, F.CONST, F.RESTRICT, F.TYPE_TAG):
            return self.align(size_or_type) if size_or_type else 1
        if kind == F.ARRAY:
            return self.align(words[w + 3]) if words[w + 3] else 1
        if kind not in (F.STRUCT, F.UNION):
            return 1
        best = 1
        for x in range(w + 3, w + 3 + 3 * vlen, 3):
            mt, off = words[x + 1], words[x + 2]
            a = self.align(mt) if mt else 1
            best = max(best, a)
            bit_size = off >> 24 if kflag else 0
            if not bit_size and (off & 0xFFFFFF if kflag else off) % (8 * a):
                return 1
        return 1 if size_or_type % best else best

    # ----------------------------------------------------------------- decode
    def type(self, type_id: int) -> BtfType:
        """The decoded type `type_id` (0 is void); KeyError when out of range."""
        if type_id == 0:
            return VOID
        if type_id < self.first_id:
            if self.base is None:
                raise KeyError(type_id)
            return self.base.type(type_id)
        t = self._cache.get(type_id)
        if t is None:
            if type_id >= self.end_id:
                raise KeyError(type_id)
            t = self._decode(type_id, self.offsets[type_id - self.first_id])
            self._cache[type_id] = t
        return t

    def _decode(self, type_id: int, w: int) -> BtfType:
        words = self.words
        name_off, info, size_or_type = words[w], words[w + 1], words[w + 2]
        kind, vlen, kflag = (info >> 24) & 0x1F, info & 0xFFFF, bool(info >> 31)
        size, ref = (size_or_type, 0) if kind in _SIZED else (0, size_or_type)
        t = BtfType(type_id, kind, self.string(name_off), kflag, vlen, size, ref)
        x = w + 3
        if kind == F.INT:
            v = words[x]
            t.encoding, t.int_offset, t.bits = (v >> 24) & 0xF, (v >> 16) & 0xFF, v & 0xFF
        elif kind == F.ARRAY:
            t.ref, t.index_type, t.nelems = words[x], words[x + 1], words[x + 2]
        elif kind in (F.STRUCT, F.UNION):
            t.members = tuple(self._member(words, x + 3 * i, kflag) for i in range(vlen))
        elif kind == F.ENUM:
            t.values = tuple(self._enum(words, x + 2 * i, kflag) for i in range(vlen))
        elif kind == F.ENUM64:
            t.values = tuple(self._enum64(words, x + 3 * i, kflag) for i in range(vlen))
        elif kind == F.FUNC_PROTO:
            t.params = tuple((self.string(words[x + 2 * i]), words[x + 2 * i + 1])
                             for i in range(vlen))
        elif kind == F.VAR:
            t.linkage = words[x]
        elif kind == F.FUNC:
            t.linkage = vlen
        elif kind == F.DATASEC:
            t.vars = tuple((words[x + 3 * i], words[x + 3 * i + 1], words[x + 3 * i + 2])
                           for i in range(vlen))
        elif kind == F.DECL_TAG:
            idx = words[x]
            t.component_idx = idx - (1 << 32) if idx >= 1 << 31 else idx
        return t

    def _member(self, words: memoryview, x: int, kflag: bool) -> Member:
        off = words[x + 2]
        if kflag:
            return Member(self.string(words[x]), words[x + 1], off & 0xFFFFFF, off >> 24)
        return Member(self.string(words[x]), words[x + 1], off, 0)

    def _enum(self, words: memoryview, x: int, signed: bool) -> tuple[str, int]:
        v = words[x + 1]
        if signed and v >= 1 << 31:
            v -= 1 << 32
        return self.string(words[x]), v

    def _enum64(self, words: memoryview, x: int, signed: bool) -> tuple[str, int]:
        v = words[x + 1] | (words[x + 2] << 32)
        if signed and v >= 1 << 63:
            v -= 1 << 64
        return self.string(words[x]), v
