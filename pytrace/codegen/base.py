"""Function-level IR building blocks: allocas, byte buffers, helper calls, branches.

Everything that LLVM's BPF backend would reject fatally is avoided here: allocas live
in the entry block only, buffers are copied and zeroed with explicit 8-byte stores
(no memcpy/memset intrinsics), and helper calls use exact function types.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from llvmlite import ir

from pytrace.codegen.errors import StackOverflow
from pytrace.types import align8

I8 = ir.IntType(8)
I16 = ir.IntType(16)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
I1 = ir.IntType(1)
P8 = ir.PointerType(I8)
P64 = ir.PointerType(I64)

STACK_LIMIT = 448  # keep well under the kernel's 512 bytes: LLVM adds its own spills


def c64(v: int) -> ir.Constant:
    return ir.Constant(I64, v & 0xFFFFFFFFFFFFFFFF)


class VolatileLoad(ir.LoadInstr):
    """`load volatile` (llvmlite has no spelling for it)."""

    def descr(self, buf: list[str]) -> None:
        super().descr(buf)
        buf[-1] = buf[-1].replace("load ", "load volatile ", 1)


class FnBase:
    """Holds one BPF function being built and offers low-level emission helpers.

    The IR types and constant makers are also attributes, so code that receives an
    emitter (the builtins' lowering functions) needs no llvmlite import of its own.
    """

    I8, I32, I64, P8 = I8, I32, I64, P8

    def __init__(self, module: ir.Module, name: str, section: str) -> None:
        self.module = module
        self.fn = ir.Function(module, ir.FunctionType(I64, [P8]), name)
        self.fn.section = section
        self.fn.attributes.add("nounwind")
        self.ctx = self.fn.args[0]
        entry = self.fn.append_basic_block("entry")
        self.alloca_builder = ir.IRBuilder(entry)
        body = self.fn.append_basic_block("body")
        self.b = ir.IRBuilder(body)
        self.stack_used = 0
        self.ctx_copy: ir.Value | None = None  # a stack copy of the ctx record (dispatchers)
        self._free: dict[int, list[ir.Value]] = {}  # released temporary buffers by size
        self._temps: list[tuple[int, ir.Value]] = []  # temporaries of the current statement

    @staticmethod
    def c64(v: int) -> ir.Constant:
        return c64(v)

    @staticmethod
    def c32(v: int) -> ir.Constant:
        return ir.Constant(I32, v)

    def finish(self) -> None:
        """Close the entry block (allocas) with a jump to the body; return 0 at the end."""
        self.alloca_builder.branch(self.fn.basic_blocks[1])
        if not self.b.block.is_terminated:
            self.b.ret(c64(0))

    # ------------------------------------------------------------ memory
    def alloca_buf(self, size: int, name: str = "", temp: bool = True) -> ir.Value:
        """An 8-aligned stack buffer of `size` bytes, as i8*.

        Temporaries live until the end of the current statement (release_temps), then
        later statements reuse them: the BPF stack is only 512 bytes.
        """
        size = max(8, align8(size))
        if temp and self._free.get(size):
            buf = self._free[size].pop()
            self._temps.append((size, buf))
            return buf
        self.stack_used += size
        if self.stack_used > STACK_LIMIT:
            raise StackOverflow(f"program needs more than {STACK_LIMIT} bytes of BPF stack")
        slot = self.alloca_builder.alloca(ir.ArrayType(I64, size // 8), name=name)
        slot.align = 8
        buf = self.alloca_builder.bitcast(slot, P8)
        if temp:
            self._temps.append((size, buf))
        return buf

    def release_temps(self) -> None:
        for size, buf in self._temps:
            self._free.setdefault(size, []).append(buf)
        self._temps = []

    def alloca_i64(self, name: str = "") -> ir.Value:
        """An i64 slot whose address never escapes: promoted to a register by mem2reg."""
        slot = self.alloca_builder.alloca(I64, name=name)
        slot.align = 8
        return slot

    def at(self, ptr: ir.Value, offset: int) -> ir.Value:
        """i8* pointer `offset` bytes after ptr."""
        if offset == 0:
            return ptr
        return self.b.gep(ptr, [ir.Constant(I64, offset)])

    def store64(self, value: ir.Value, ptr: ir.Value, offset: int = 0) -> None:
        p = self.b.bitcast(self.at(ptr, offset), P64)
        self.b.store(value, p, align=8)

    def load64(self, ptr: ir.Value, offset: int = 0) -> ir.Value:
        if ptr is self.ctx and self.ctx_copy is not None:
            ptr = self.ctx_copy
        p = self.b.bitcast(self.at(ptr, offset), P64)
        return self.b.load(p, align=8)

    def load_byte_kept(self, ptr: ir.Value, offset: int) -> ir.Value:
        """The i8 at ptr+offset, loaded so that LLVM keeps the buffer in memory: a buffer
        read byte by byte (string comparisons) is otherwise split by SROA into one value
        per byte, and values live across a helper call are spilled to one 8-byte stack
        slot each (a 40-byte string takes 320 bytes and LLVM aborts)."""
        ld = VolatileLoad(self.b.block, self.at(ptr, offset), typ=I8)
        self.b._insert(ld)
        return ld

    def zero(self, ptr: ir.Value, size: int, offset: int = 0) -> None:
        for off in range(offset, offset + align8(size), 8):
            self.store64(c64(0), ptr, off)

    def copy(self, dst: ir.Value, src: ir.Value, size: int, dst_off: int = 0, src_off: int = 0) -> None:
        for off in range(0, align8(size), 8):
            self.store64(self.load64(src, src_off + off), dst, dst_off + off)

    def load_sized(self, ptr: ir.Value, offset: int, size: int, signed: bool) -> ir.Value:
        """Load a 1/2/4/8-byte integer at ptr+offset, extended to i64."""
        if ptr is self.ctx and self.ctx_copy is not None:
            ptr = self.ctx_copy
        ty = {1: I8, 2: I16, 4: I32, 8: I64}.get(size, I64)
        p = self.b.bitcast(self.at(ptr, offset), ir.PointerType(ty))
        v = self.b.load(p, align=min(size, 8))
        if ty is I64:
            return v
        return self.b.sext(v, I64) if signed else self.b.zext(v, I64)

    # ------------------------------------------------------------ calls
    def helper(self, helper_id: int, ret: ir.Type, args: list[ir.Value]) -> ir.Value:
        fnty = ir.FunctionType(ret, [a.type for a in args])
        fptr = self.b.inttoptr(c64(helper_id), ir.PointerType(fnty))
        return self.b.call(fptr, args)

    def map_ptr(self, gv: ir.GlobalVariable) -> ir.Value:
        return self.b.bitcast(gv, P8)

    # ------------------------------------------------------------ control flow
    @contextmanager
    def if_then(self, cond: ir.Value) -> Iterator[None]:
        with self.b.if_then(cond):
            yield

    def to_bool(self, v: ir.Value) -> ir.Value:
        if v.type == I1:
            return v
        return self.b.icmp_unsigned("!=", v, ir.Constant(v.type, 0))

    def is_null(self, p: ir.Value) -> ir.Value:
        return self.b.icmp_unsigned("==", self.b.ptrtoint(p, I64), c64(0))

    def not_null(self, p: ir.Value) -> ir.Value:
        return self.b.icmp_unsigned("!=", self.b.ptrtoint(p, I64), c64(0))
