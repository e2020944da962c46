"""Builds small BTF blobs by hand for tests (every kind; split BTF on a base)."""

from __future__ import annotations

import struct

from pytrace.btf import format as F


class BtfBuilder:
    """Types are added in id order; `add_*` return the new type's id."""

    def __init__(self, base: BtfBuilder | None = None) -> None:
        self.base = base
        self.words: list[int] = []
        self.strings = bytearray(b"" if base else b"\0")
        self.next_id = base.next_id if base else 1
        self.str_base = len(base.strings) if base else 0

    def s(self, text: str) -> int:
        if not text:
            return 0
        if self.base is not None:
            pos = self.base.strings.find(text.encode() + b"\0")
            if pos >= 0 and (pos == 0 or self.base.strings[pos - 1] == 0):
                return pos
        off = self.str_base + len(self.strings)
        self.strings += text.encode() + b"\0"
        return off

    def _add(self, name: str, kind: int, vlen: int, size_or_type: int, kflag: bool = False,
             extra: tuple[int, ...] = ()) -> int:
        info = (int(kflag) << 31) | (kind << 24) | vlen
        self.words += [self.s(name), info, size_or_type, *extra]
        tid = self.next_id
        self.next_id += 1
        return tid

    def int_(self, name: str, size: int, signed: bool = False, bits: int = 0, char: bool = False,
             boolean: bool = False) -> int:
        enc = (F.INT_SIGNED if signed else 0) | (F.INT_CHAR if char else 0) | \
            (F.INT_BOOL if boolean else 0)
        return self._add(name, F.INT, 0, size, extra=((enc << 24) | (bits or size * 8),))

    def ptr(self, target: int) -> int:
        return self._add("", F.PTR, 0, target)

    def array(self, elem: int, index: int, n: int) -> int:
        return self._add("", F.ARRAY, 0, 0, extra=(elem, index, n))

    def struct(self, name: str, size: int, members: list[tuple[str, int, int, int]],
               union: bool = False) -> int:
        """members: (name, type, bit offset, bitfield size)."""
        kflag = any(m[3] for m in members)
        extra: list[int] = []
        for mname, mtype, boff, bsize in members:
            extra += [self.s(mname), mtype, (bsize << 24) | boff if kflag else boff]
        return self._add(name, F.UNION if union else F.STRUCT, len(members), size, kflag,
                         tuple(extra))

    def enum(self, name: str, size: int, values: list[tuple[str, int]], signed: bool = False) -> int:
        extra: list[int] = []
        for vname, v in values:
            extra += [self.s(vname), v & 0xFFFFFFFF]
        return self._add(name, F.ENUM, len(values), size, signed, tuple(extra))

    def enum64(self, name: str, values: list[tuple[str, int]], signed: bool = False) -> int:
        extra: list[int] = []
        for vname, v in values:
            v &= (1 << 64) - 1
            extra += [self.s(vname), v & 0xFFFFFFFF, v >> 32]
        return self._add(name, F.ENUM64, len(values), 8, signed, tuple(extra))

    def fwd(self, name: str, union: bool = False) -> int:
        return self._add(name, F.FWD, 0, 0, union)

    def typedef(self, name: str, target: int) -> int:
        return self._add(name, F.TYPEDEF, 0, target)

    def modifier(self, kind: int, target: int, name: str = "") -> int:
        return self._add(name, kind, 0, target)

    def func_proto(self, ret: int, params: list[tuple[str, int]]) -> int:
        extra: list[int] = []
        for pname, ptype in params:
            extra += [self.s(pname), ptype]
        return self._add("", F.FUNC_PROTO, len(params), ret, extra=tuple(extra))

    def func(self, name: str, proto: int, linkage: int = 1) -> int:
        return self._add(name, F.FUNC, linkage, proto)

    def var(self, name: str, vtype: int, linkage: int = 1) -> int:
        return self._add(name, F.VAR, 0, vtype, extra=(linkage,))

    def datasec(self, name: str, size: int, vars_: list[tuple[int, int, int]]) -> int:
        extra: list[int] = []
        for v in vars_:
            extra += list(v)
        return self._add(name, F.DATASEC, len(vars_), size, extra=tuple(extra))

    def float_(self, name: str, size: int) -> int:
        return self._add(name, F.FLOAT, 0, size)

    def decl_tag(self, name: str, target: int, component: int = -1) -> int:
        return self._add(name, F.DECL_TAG, 0, target, extra=(component & 0xFFFFFFFF,))

    def blob(self) -> bytes:
        types = struct.pack(f"<{len(self.words)}I", *self.words)
        strs = bytes(self.strings)
        header = F.HEADER.pack(F.MAGIC, 1, 0, F.HEADER.size, 0, len(types), len(types), len(strs))
        return header + types + strs
