"""x86-64 instruction lengths (no disassembly): where each instruction starts.

A uprobe placed inside an instruction corrupts the traced program, so `func+N` must
land on an instruction boundary. Only lengths are needed, which follow from the
encoding alone: legacy prefixes, REX, VEX/EVEX/XOP, the opcode map, ModRM/SIB,
displacement and immediate sizes. Tables below cover the one- and two-byte maps; the
0F38 map never has an immediate and 0F3A always has one byte. Checked against objdump
for every function of real binaries (tests/probes/test_x86len.py).
"""

from __future__ import annotations

from collections.abc import Iterator

_LEGACY = frozenset(b"\xf0\xf2\xf3\x2e\x36\x3e\x26\x64\x65\x66\x67")


def _set(spec: str) -> frozenset[int]:
    """'00-03 08 10-13' -> the opcodes."""
    out: set[int] = set()
    for part in spec.split():
        lo, _, hi = part.partition("-")
        out.update(range(int(lo, 16), int(hi or lo, 16) + 1))
    return frozenset(out)


# One-byte map: opcodes with a ModRM byte.
_MODRM1 = _set("00-03 08-0b 10-13 18-1b 20-23 28-2b 30-33 38-3b 62 63 69 6b 80-8f "
               "c0 c1 c4-c7 d0-d3 d8-df f6 f7 fe ff")
_IMM8_1 = _set("04 0c 14 1c 24 2c 34 3c 6a 6b 70-7f 80 82 83 a8 b0-b7 c0 c1 c6 cd d4 d5 "
               "e0-e7 eb")
_IMMZ_1 = _set("05 0d 15 1d 25 2d 35 3d 68 69 81 a9 c7 e8 e9")
# Two-byte map (0F xx): opcodes WITHOUT a ModRM byte, and immediates.
_NO_MODRM2 = _set("04-09 0b 0e 30-37 77 80-8f a0-a2 a8-aa c8-cf")
_IMM8_2 = _set("70-73 a4 ac ba c2 c4-c6")


class DecodeError(ValueError):
    """The bytes do not form an instruction this decoder knows."""


def _modrm_len(code: bytes, i: int, addr32: bool) -> int:
    """Bytes taken by ModRM (at i), SIB and displacement."""
    modrm = code[i]
    mod, rm = modrm >> 6, modrm & 7
    n = 1
    if mod == 3:
        return n
    if rm == 4:
        sib = code[i + 1]
        n += 1
        if mod == 0 and sib & 7 == 5:
            n += 4
    elif mod == 0 and rm == 5:
        n += 4  # RIP-relative (or disp32 with 0x67)
    del addr32  # same ModRM/SIB layout for 32- and 64-bit addressing in long mode
    if mod == 1:
        n += 1
    elif mod == 2:
        n += 4
    return n


def _vex_like(code: bytes, i: int, payload: int, map_id: int, addr32: bool) -> int:
    """Length of a VEX/EVEX/XOP instruction whose escape byte is at i."""
    op = i + 1 + payload
    opcode = code[op]
    if map_id == 1 and opcode == 0x77 and payload < 3:
        return 1 + payload + 1  # vzeroupper / vzeroall: no ModRM
    n = 1 + payload + 1 + _modrm_len(code, op + 1, addr32)
    if map_id in (3, 8) or map_id == 1 and opcode in _IMM8_2:
        n += 1
    elif map_id == 10:
        n += 4
    return n


def insn_length(code: bytes, i: int = 0) -> int:
    """Length of the instruction starting at code[i] (IndexError past the end)."""
    start = i
    opsize16 = addr32 = False
    while code[i] in _LEGACY:
        opsize16 |= code[i] == 0x66
        addr32 |= code[i] == 0x67
        i += 1
        if i - start > 14:
            raise DecodeError("too many prefixes")
    rex_w = False
    if 0x40 <= code[i] <= 0x4F:
        rex_w = bool(code[i] & 8)
        i += 1
    op = code[i]
    pre = i - start
    if op == 0xC5:
        return pre + _vex_like(code, i, 1, 1, addr32)
    if op == 0xC4:
        return pre + _vex_like(code, i, 2, code[i + 1] & 0x1F, addr32)
    if op == 0x62:
        return pre + _vex_like(code, i, 3, code[i + 1] & 0x7, addr32)
    if op == 0x8F and code[i + 1] & 0x1F >= 8:  # AMD XOP (POP r/m has reg 0 there)
        return pre + _vex_like(code, i, 2, code[i + 1] & 0x1F, addr32)
    if op == 0x0F:
        return pre + _two_byte(code, i + 1, opsize16, addr32)
    return pre + _one_byte(code, i, opsize16, addr32, rex_w)


def _one_byte(code: bytes, i: int, opsize16: bool, addr32: bool, rex_w: bool) -> int:
    op = code[i]
    immz = 2 if opsize16 and not rex_w else 4
    n = 1
    if op in _MODRM1:
        n += _modrm_len(code, i + 1, addr32)
        reg = (code[i + 1] >> 3) & 7
        if op == 0xF6 and reg in (0, 1):
            n += 1
        elif op == 0xF7 and reg in (0, 1):
            n += immz
    if op in _IMM8_1:
        n += 1
    elif op in _IMMZ_1:
        n += 4 if op in (0xE8, 0xE9) else immz
    elif 0xB8 <= op <= 0xBF:
        n += 8 if rex_w else immz
    elif 0xA0 <= op <= 0xA3:
        n += 4 if addr32 else 8  # moffs
    elif op in (0xC2, 0xCA):
        n += 2
    elif op == 0xC8:
        n += 3
    return n


def _two_byte(code: bytes, i: int, opsize16: bool, addr32: bool) -> int:
    """Length from the byte after 0F (plus the 0F itself)."""
    op = code[i]
    if op == 0x38:
        return 3 + _modrm_len(code, i + 2, addr32)
    if op == 0x3A:
        return 3 + _modrm_len(code, i + 2, addr32) + 1
    n = 2
    if op in (0x0F,):  # 3DNow!: ModRM then an opcode byte
        return n + _modrm_len(code, i + 1, addr32) + 1
    if op not in _NO_MODRM2:
        n += _modrm_len(code, i + 1, addr32)
    if 0x80 <= op <= 0x8F:
        n += 2 if opsize16 else 4
    elif op in _IMM8_2:
        n += 1
    elif op == 0x78 and opsize16:  # AMD extrq xmm, imm8, imm8
        n += 2
    return n


def boundaries(code: bytes, limit: int) -> Iterator[int]:
    """Start offsets of the instructions from code[0] up to `limit` (inclusive when one
    starts there)."""
    pos = 0
    while pos <= limit:
        yield pos
        pos += insn_length(code, pos)


def is_boundary(code: bytes, offset: int) -> bool:
    """Whether an instruction starts `offset` bytes after the start of `code`."""
    return max(boundaries(code, offset)) == offset
