"""Function-level IR building blocks: allocas, byte buffers, helper calls, branches.

Everything that LLVM's BPF backend would reject fatally is avoided here: allocas live
in the entry block only, buffers are copied and zeroed with explicit 8-byte stores
(no memcpy/memset intrinsics), and helper calls use exact function types.

Buffers larger than ON_STACK_LIMIT bytes (strings of max_strlen bytes, tuples holding
them, big keys) do not go on the 512-byte BPF stack: they are slices of this program's
element of the per-CPU `__scratch` array map, looked up once in the entry block. A
function is laid out as

    entry:  allocas; the scratch lookup (when used); NULL -> return
    init:   scratch slices (GEPs) and the zeroing of scratch variables
    body:   the code
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from llvmlite import ir

from pytrace.codegen import helpers as h
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
ON_STACK_LIMIT = 64  # larger buffers live in the per-CPU scratch map (on_stack_limit)
SCRATCH_LIMIT = 32768  # bytes per CPU: the largest value of a per-CPU array map


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
        self.open_blocks()
        self.stack_used = 0
        self.ctx_copy: ir.Value | None = None  # a stack copy of the ctx record (dispatchers)
        self._free: dict[tuple[bool, int], list[ir.Value]] = {}  # released temporaries
        self._temps: list[tuple[tuple[bool, int], ir.Value]] = []  # this statement's
        self.on_stack_limit = ON_STACK_LIMIT  # larger buffers go to scratch memory
        self.scratch_used = 0  # bytes of the scratch element this function uses
        self.scratch_key = 0  # which element of __scratch (the probe block's)
        self.scratch_fail = 0  # what the function returns if the lookup fails
        self._scratch_base: ir.Value | None = None

    def open_blocks(self) -> None:
        """The entry, init and body blocks (see the module docstring)."""
        self.alloca_builder = ir.IRBuilder(self.fn.append_basic_block("entry"))
        self.init_builder = ir.IRBuilder(self.fn.append_basic_block("init"))
        self.body_block = self.fn.append_basic_block("body")
        self.b = ir.IRBuilder(self.body_block)
        self._scratch_base = None

    @staticmethod
    def c64(v: int) -> ir.Constant:
        return c64(v)

    @staticmethod
    def c32(v: int) -> ir.Constant:
        return ir.Constant(I32, v)

    def finish(self) -> None:
        """Close the prologue; return 0 at the end of the body."""
        self.close_prologue()
        if not self.b.block.is_terminated:
            self.b.ret(c64(0))

    def close_prologue(self) -> None:
        """entry -> init (through the scratch NULL check) -> body."""
        init = self.init_builder.block
        base = self._scratch_base
        if base is None:
            self.alloca_builder.branch(init)
        else:
            a = self.alloca_builder
            missing = self.fn.append_basic_block("noscratch")
            a.cbranch(a.icmp_unsigned("==", a.ptrtoint(base, I64), c64(0)), missing, init)
            ir.IRBuilder(missing).ret(c64(self.scratch_fail))
        self.init_builder.branch(self.body_block)

    def scratch_map(self) -> ir.GlobalVariable:
        """The __scratch map global (the program emitter provides it)."""
        raise NotImplementedError

    # ------------------------------------------------------------ memory
    def alloca_buf(self, size: int, name: str = "", temp: bool = True,
                   stack: bool = False) -> ir.Value:
        """An 8-aligned buffer of `size` bytes, as i8*: on the stack, or in the scratch
        map when larger than ON_STACK_LIMIT (unless `stack`: helpers that want stack
        memory).

        Temporaries live until the end of the current statement (release_temps), then
        later statements reuse them: the BPF stack is only 512 bytes.
        """
        size = max(8, align8(size))
        scratch = size > self.on_stack_limit and not stack
        pool = (scratch, size)
        if temp and self._free.get(pool):
            buf = self._free[pool].pop()
            self._temps.append((pool, buf))
            return buf
        buf = self._scratch_slice(size) if scratch else self._stack_slot(size, name)
        if temp:
            self._temps.append((pool, buf))
        return buf

    def _stack_slot(self, size: int, name: str) -> ir.Value:
        self.stack_used += size
        if self.stack_used > STACK_LIMIT:
            raise StackOverflow(f"program needs more than {STACK_LIMIT} bytes of BPF stack")
        slot = self.alloca_builder.alloca(ir.ArrayType(I64, size // 8), name=name)
        slot.align = 8
        return self.alloca_builder.bitcast(slot, P8)

    def _scratch_slice(self, size: int) -> ir.Value:
        off = self.scratch_used
        self.scratch_used += size
        if self.scratch_used > SCRATCH_LIMIT:
            raise StackOverflow(f"program needs more than {SCRATCH_LIMIT} bytes of scratch "
                                "memory (lower max_strlen)")
        base = self._scratch_pointer()
        return base if off == 0 else self.init_builder.gep(base, [c64(off)])

    def _scratch_pointer(self) -> ir.Value:
        """This function's scratch element, looked up once in the entry block."""
        if self._scratch_base is None:
            a = self.alloca_builder
            key = a.alloca(I32, name="scratch.key")
            key.align = 4
            a.store(ir.Constant(I32, self.scratch_key), key)
            fnty = ir.FunctionType(P8, [P8, P8])
            lookup = a.inttoptr(c64(h.MAP_LOOKUP_ELEM), ir.PointerType(fnty))
            self._scratch_base = a.call(lookup, [a.bitcast(self.scratch_map(), P8),
                                                 a.bitcast(key, P8)])
        return self._scratch_base

    def release_temps(self) -> None:
        for pool, buf in self._temps:
            self._free.setdefault(pool, []).append(buf)
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

    @contextmanager
    def loop(self, n: ir.Value | int) -> Iterator[tuple[ir.Value, ir.Block, ir.Block]]:
        """`for (i = 0; i < n; i++)`: yields (i, continue block, break block). The body
        may branch to either; falling off its end continues. A constant bound is what
        lets the verifier prove the loop ends."""
        b = self.b
        bound = c64(n) if isinstance(n, int) else n
        slot = self.alloca_i64("i")
        b.store(c64(0), slot)
        cond = self.fn.append_basic_block("loop.cond")
        body = self.fn.append_basic_block("loop.body")
        step = self.fn.append_basic_block("loop.step")
        end = self.fn.append_basic_block("loop.end")
        b.branch(cond)
        b.position_at_end(cond)
        i = b.load(slot)
        b.cbranch(b.icmp_unsigned("<", i, bound), body, end)
        b.position_at_end(body)
        yield i, step, end
        if not b.block.is_terminated:
            b.branch(step)
        b.position_at_end(step)
        b.store(b.add(i, c64(1)), slot)
        b.branch(cond).set_metadata("llvm.loop", self._no_unroll())
        b.position_at_end(end)

    def _no_unroll(self) -> ir.Value:
        """Loop metadata asking LLVM not to unroll: unrolled byte accesses at small
        constant offsets become `or` on pointers, which the verifier refuses."""
        from llvmlite.ir import values

        m = self.module
        hint = m.add_metadata([ir.MetaDataString(m, "llvm.loop.unroll.disable")])
        loop_id = values.MDValue(m, [hint, hint], name=str(len(m.metadata)))
        loop_id.operands = (loop_id, hint)  # a loop id refers to itself
        return loop_id

    def opaque(self, ptr: ir.Value) -> ir.Value:
        """The same pointer, hidden from LLVM's analyses (an empty inline asm, as
        BPF programs' barrier_var): LLVM may otherwise compute `aligned + small index`
        as `or`, which the verifier refuses on pointers."""
        asm = ir.InlineAsm(ir.FunctionType(I64, [I64]), "", "=r,0", side_effect=True)
        return self.b.inttoptr(self.b.call(asm, [self.b.ptrtoint(ptr, I64)]), P8)

    def pinned(self, v: ir.Value) -> ir.Value:
        """v, computed here: an empty inline asm with side effects, which LLVM neither
        moves nor sinks into a later branch (no instruction is emitted)."""
        if isinstance(v, ir.Constant) or v.type != I64:
            return v
        asm = ir.InlineAsm(ir.FunctionType(I64, [I64]), "", "=r,0", side_effect=True)
        return self.b.call(asm, [v])

    def bswap(self, v: ir.Value, bits: int) -> ir.Value:
        """The low `bits` of v with their bytes reversed (llvm.bswap, BPF's endian
        instructions), zero-extended to i64."""
        ty = ir.IntType(bits)
        name = f"llvm.bswap.i{bits}"
        fn = self.module.globals.get(name)
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(ty, [ty]), name)
        out = self.b.call(fn, [v if bits == 64 else self.b.trunc(v, ty)])
        return out if bits == 64 else self.b.zext(out, I64)

    def load8(self, ptr: ir.Value, index: ir.Value | int = 0) -> ir.Value:
        """The byte at ptr[index], zero-extended to i64."""
        at = self.b.gep(ptr, [c64(index) if isinstance(index, int) else index])
        return self.b.zext(self.b.load(at), I64)

    def store8(self, value: ir.Value, ptr: ir.Value, index: ir.Value | int = 0) -> None:
        at = self.b.gep(ptr, [c64(index) if isinstance(index, int) else index])
        self.b.store(self.b.trunc(value, I8), at)

    def to_bool(self, v: ir.Value) -> ir.Value:
        if v.type == I1:
            return v
        return self.b.icmp_unsigned("!=", v, ir.Constant(v.type, 0))

    def is_null(self, p: ir.Value) -> ir.Value:
        return self.b.icmp_unsigned("==", self.b.ptrtoint(p, I64), c64(0))

    def not_null(self, p: ir.Value) -> ir.Value:
        return self.b.icmp_unsigned("!=", self.b.ptrtoint(p, I64), c64(0))
