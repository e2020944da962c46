"""IR for usdt arguments: the stapsdt note's operand spec (a register, memory at
register+offset, or a constant), read from the probe's pt_regs."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from llvmlite import ir

from pytrace import nodes
from pytrace.codegen import helpers as h
from pytrace.codegen.base import I64, P8, c64
from pytrace.codegen.errors import CodegenError
from pytrace.codegen.values import Val
from pytrace.frozen import frozen
from pytrace.types import IntT

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

U64 = IntT(64, False)

# x86_64 struct pt_regs offsets by 64-bit register name.
PT_REGS = {
    "r15": 0, "r14": 8, "r13": 16, "r12": 24, "rbp": 32, "rbx": 40, "r11": 48, "r10": 56,
    "r9": 64, "r8": 72, "rax": 80, "rcx": 88, "rdx": 96, "rsi": 104, "rdi": 112,
    "rip": 128, "rsp": 152,
}
_LEGACY = {"ax": "rax", "bx": "rbx", "cx": "rcx", "dx": "rdx", "si": "rsi", "di": "rdi",
           "bp": "rbp", "sp": "rsp", "ip": "rip"}


def register_offset(name: str) -> int | None:
    """pt_regs offset of an AT&T register name of any width (%eax, %r8d, %dil …)."""
    name = name.lstrip("%").lower()
    if name in PT_REGS:
        return PT_REGS[name]
    m = re.fullmatch(r"(r(?:8|9|1[0-5]))[dwb]", name)
    if m:
        return PT_REGS[m.group(1)]
    if name.startswith("e") and name[1:] in _LEGACY:
        return PT_REGS[_LEGACY[name[1:]]]
    if name in _LEGACY:
        return PT_REGS[_LEGACY[name]]
    if len(name) == 2 and name[1] == "l" and name[0] in "abcd":  # al bl cl dl
        return PT_REGS["r" + name[0] + "x"]
    if name in ("sil", "dil", "bpl", "spl"):
        return PT_REGS[_LEGACY[name[:2]]]
    return None


@frozen
class UsdtArg:
    """One stapsdt operand: `size` bytes (negative: signed) from a register, from user
    memory at register+offset, or a constant."""

    size: int
    signed: bool
    kind: str  # 'reg' | 'mem' | 'const'
    reg: int = 0  # pt_regs offset
    offset: int = 0  # memory displacement, or the constant's value


_OPERAND = re.compile(r"(?:(-?\d+)@)?(.+)")
_MEM = re.compile(r"(-?(?:0x[0-9a-fA-F]+|\d+))?\((%\w+)\)")


def parse_usdt_arg(text: str) -> UsdtArg:
    """Parse one operand such as `-4@%edi`, `8@-8(%rbp)`, `4@$5`; ValueError if unsupported."""
    m = _OPERAND.fullmatch(text.strip())
    if not m:
        raise ValueError(f"cannot parse USDT argument '{text}'")
    size = int(m.group(1) or 8)
    signed, size = size < 0, abs(size)
    if size not in (1, 2, 4, 8):
        raise ValueError(f"USDT argument '{text}' has an unsupported size {size}")
    op = m.group(2)
    if op.startswith("$"):
        try:
            return UsdtArg(size, signed, "const", offset=int(op[1:], 0))
        except ValueError:  # `$symbol`: an address only the linker knew
            raise ValueError(f"USDT argument '{text}' is not a constant pytrace can "
                             "read") from None
    if op.startswith("%"):
        reg = register_offset(op)
        if reg is None:
            raise ValueError(f"USDT argument '{text}': unknown register {op}")
        return UsdtArg(size, signed, "reg", reg)
    mm = _MEM.fullmatch(op)
    if mm:
        reg = register_offset(mm.group(2))
        if reg is None:
            raise ValueError(f"USDT argument '{text}': unknown register {mm.group(2)}")
        return UsdtArg(size, signed, "mem", reg, int(mm.group(1) or "0", 0))
    raise ValueError(f"USDT argument '{text}' uses an unsupported addressing mode")


def parse_usdt_args(spec: str) -> list[UsdtArg]:
    return [parse_usdt_arg(t) for t in spec.split()]


def _extend(p: ProgEmitter, v: ir.Value, size: int, signed: bool) -> ir.Value:
    if size == 8:
        return v
    narrow = p.b.trunc(v, ir.IntType(8 * size))
    return p.b.sext(narrow, I64) if signed else p.b.zext(narrow, I64)


def emit_usdt_arg(p: ProgEmitter, n: int, node: nodes.Node) -> Val:
    """argN of a usdt probe, read as the note's operand spec says."""
    spec = str(p.target.attach.get("args", ""))
    try:
        args = parse_usdt_args(spec)
    except ValueError as exc:
        raise CodegenError(str(exc), node) from None
    if n >= len(args):
        raise CodegenError(f"arg{n} is not available: {p.target.name} has {len(args)} "
                            "argument(s)", node)
    a = args[n]
    t = p.checked.types.get(node, U64)
    if a.kind == "const":
        return Val(t, _extend(p, c64(a.offset), a.size, a.signed))
    reg = p.load64(p.ctx, a.reg)
    if a.kind == "reg":
        return Val(t, _extend(p, reg, a.size, a.signed))
    buf = p.alloca_buf(8)
    p.store64(c64(0), buf)
    addr = p.b.inttoptr(p.b.add(reg, c64(a.offset)), P8)
    p.helper(h.PROBE_READ_USER, I64, [buf, ir.Constant(ir.IntType(32), a.size), addr])
    return Val(t, p.load_sized(buf, 0, a.size, a.signed))
