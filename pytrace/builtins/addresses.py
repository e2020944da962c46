"""Addresses and registers: kaddr, uaddr, reg, kptr, uptr, cgroupid, cgroup_path.
Type rules and lowering. kaddr, uaddr and cgroupid are resolved when the program is
compiled (kallsyms, the traced binary's ELF symbols, the cgroup's file handle)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from pytrace import nodes
from pytrace.builtins.base import U64, Builtin, TypeContext, call_args, is_int, type_word
from pytrace.builtins.identifiers import REGS_CONTEXT_KINDS
from pytrace.codegen.values import Val
from pytrace.types import IntT, PtrT, Type, UserFormatT

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

# x86_64 struct pt_regs
REGISTERS = {name: 8 * i for i, name in enumerate((
    "r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx", "si",
    "di", "orig_ax", "ip", "cs", "flags", "sp", "ss"))}
UPROBE_KINDS = frozenset({"uprobe", "uretprobe", "usdt"})
GET_FUNC_IP = 173


def _literal(ctx: TypeContext, node: nodes.Expr) -> str | None:
    args = call_args(node)
    text = ctx.const_str(args[0]) if args else None
    if text is None:
        ctx.diags.error(f"{getattr(node, 'name', '')}() expects a string literal as first "
                        "argument", node.span)
    return text


def _arg_text(p: ProgEmitter, e: nodes.Call) -> str:
    return p.const_string(e.args[0])


# ------------------------------------------------------------------ kaddr
def _kaddr_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    from pytrace.kernelinfo import kernel_symbol

    name = _literal(ctx, node)
    if name is not None and kernel_symbol(name) is None:
        ctx.diags.error(f"Failed to resolve kernel symbol: {name}", node.span)
    return U64


def _kaddr(p: ProgEmitter, e: nodes.Call) -> Val:
    from pytrace.kernelinfo import kernel_symbol

    return Val(U64, p.c64(kernel_symbol(_arg_text(p, e)) or 0))


# ------------------------------------------------------------------ uaddr
class ElfSymbol(NamedTuple):
    vaddr: int
    size: int
    pie: bool  # ET_DYN: the address moves with the load base
    loads: tuple[tuple[int, int, int], ...]  # PT_LOAD (p_vaddr, p_offset, p_filesz)


@lru_cache(maxsize=64)
def elf_symbol(path: str, name: str) -> ElfSymbol | None:
    """A defined symbol (object or function) of an ELF file."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            loads = tuple((s["p_vaddr"], s["p_offset"], s["p_filesz"])
                          for s in elf.iter_segments() if s["p_type"] == "PT_LOAD")
            for secname in (".symtab", ".dynsym"):
                sec = elf.get_section_by_name(secname)
                if sec is None or not hasattr(sec, "get_symbol_by_name"):
                    continue
                for sym in sec.get_symbol_by_name(name) or ():
                    if sym["st_shndx"] != "SHN_UNDEF" and sym["st_value"]:
                        return ElfSymbol(sym["st_value"], sym["st_size"],
                                         elf["e_type"] == "ET_DYN", loads)
    except (OSError, ELFError):
        return None
    return None


def offset_to_vaddr(loads: tuple[tuple[int, int, int], ...], offset: int) -> int:
    for vaddr, off, size in loads:
        if off <= offset < off + size:
            return offset - off + vaddr
    return offset


def _uaddr_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    name = _literal(ctx, node)
    width = 8
    for t in ctx.targets:
        path = str(t.attach.get("path", ""))
        sym = elf_symbol(path, name) if name is not None and path else None
        if name is not None and sym is None:
            ctx.diags.error(f"Could not resolve symbol: {path}:{name}", node.span)
            break
        if sym is not None and sym.size in (1, 2, 4, 8):
            width = sym.size
    return PtrT(IntT(8 * width, False), user=True, ctype=f"uint{8 * width} *")


def _uaddr(p: ProgEmitter, e: nodes.Call) -> Val:
    """The symbol's address; in a position-independent binary, moved by the load bias
    (the probed function's address now minus its address in the file)."""
    t = p.type_of(e)
    path = str(p.target.attach.get("path", ""))
    sym = elf_symbol(path, _arg_text(p, e))
    if sym is None:
        raise p.fail(f"Could not resolve symbol: {path}:{_arg_text(p, e)}", e)
    if not sym.pie:
        return Val(t, p.c64(sym.vaddr))
    probed = offset_to_vaddr(sym.loads, int(p.target.attach.get("offset", 0)))
    func_ip = p.helper(GET_FUNC_IP, p.I64, [p.ctx])
    return Val(t, p.b.add(p.c64(sym.vaddr - probed), func_ip))


# ------------------------------------------------------------------ reg
def _reg_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    name = _literal(ctx, node)
    if name is not None and name not in REGISTERS:
        ctx.diags.error(f"'{name}' is not a valid register on this architecture (x86_64)",
                        call_args(node)[0].span, "registers: " + ", ".join(REGISTERS))
    return U64


def _reg(p: ProgEmitter, e: nodes.Call) -> Val:
    return Val(U64, p.load64(p.ctx, REGISTERS[_arg_text(p, e)]))


# ------------------------------------------------------------------ kptr / uptr
def _space_rule(user: bool):  # type: ignore[no-untyped-def]
    def rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
        t = args[0] if args else None
        if not is_int(t):
            ctx.diags.error(f"{getattr(node, 'name', '')}() expects a pointer or integer "
                            f"({type_word(t)} provided)", node.span)
            return PtrT(None, user=user)
        if isinstance(t, PtrT):
            return PtrT(t.pointee, user=user, ctype=t.ctype, kernel=not user)
        return PtrT(None, user=user, kernel=not user)

    return rule


def _same(p: ProgEmitter, e: nodes.Call) -> Val:
    return Val(p.type_of(e), p.as_i64(p.expr(e.args[0])))


# ------------------------------------------------------------------ cgroups
def _cgroupid_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    from pytrace.userformat import cgroup_id_of

    path = _literal(ctx, node)
    if path is not None and cgroup_id_of(path) is None:
        ctx.diags.error(f"cgroupid: cannot find the cgroup at '{path}'", node.span)
    return U64


def _cgroupid(p: ProgEmitter, e: nodes.Call) -> Val:
    from pytrace.userformat import cgroup_id_of

    return Val(U64, p.c64(cgroup_id_of(_arg_text(p, e)) or 0))


def _cgroup_path_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    if args and not is_int(args[0]):
        ctx.diags.error(f"cgroup_path() expects an integer cgroup id ({type_word(args[0])} "
                        "provided)", call_args(node)[0].span)
    pattern = ""
    if len(call_args(node)) > 1:
        text = ctx.const_str(call_args(node)[1])
        if text is None:
            ctx.diags.error("cgroup_path() expects a string literal filter",
                            call_args(node)[1].span)
        pattern = text or ""
    return UserFormatT("cgroup_path", 8, pattern)


def _cgroup_path(p: ProgEmitter, e: nodes.Call) -> Val:
    return Val(p.type_of(e), p.as_i64(p.expr(e.args[0])))


# ------------------------------------------------------------------ percpu_kaddr
THIS_CPU_PTR = 154
PER_CPU_PTR = 153


def _percpu_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    from pytrace.kernelinfo import percpu_variable

    name = _literal(ctx, node)
    if name is not None and percpu_variable(name) is None:
        ctx.diags.error(f"Could not resolve per-CPU kernel variable: {name} (kernel BTF has "
                        "no such variable in .data..percpu)", node.span)
    if len(args) > 1 and not is_int(args[1]):
        ctx.diags.error(f"percpu_kaddr() expects an integer cpu ({type_word(args[1])} "
                        "provided)", call_args(node)[1].span)
    return PtrT(IntT(64, False), user=False, ctype="uint64 *")


def _percpu_kaddr(p: ProgEmitter, e: nodes.Call) -> Val:
    """bpf_this_cpu_ptr / bpf_per_cpu_ptr of the variable (NULL for a CPU that does
    not exist)."""
    from pytrace.kernelinfo import percpu_variable

    name = _arg_text(p, e)
    var = p.b.bitcast(p.gen.ksym(name, percpu_variable(name) or 0), p.P8)
    if len(e.args) == 1:
        ptr = p.helper(THIS_CPU_PTR, p.P8, [var])
    else:
        cpu = p.b.trunc(p.as_i64(p.expr(e.args[1])), p.I32)
        ptr = p.helper(PER_CPU_PTR, p.P8, [var, cpu])
    return Val(p.type_of(e), p.b.ptrtoint(ptr, p.I64))


ADDRESSES: tuple[Builtin, ...] = (
    Builtin("percpu_kaddr", _percpu_rule, min_args=1, max_args=2, emit=_percpu_kaddr),
    Builtin("kaddr", _kaddr_rule, min_args=1, max_args=1, raw_args=True, emit=_kaddr),
    Builtin("uaddr", _uaddr_rule, min_args=1, max_args=1, raw_args=True, kinds=UPROBE_KINDS,
            emit=_uaddr),
    Builtin("reg", _reg_rule, min_args=1, max_args=1, raw_args=True, kinds=REGS_CONTEXT_KINDS,
            emit=_reg),
    Builtin("kptr", _space_rule(False), min_args=1, max_args=1, emit=_same),
    Builtin("uptr", _space_rule(True), min_args=1, max_args=1, emit=_same),
    Builtin("cgroupid", _cgroupid_rule, min_args=1, max_args=1, raw_args=True, emit=_cgroupid),
    Builtin("cgroup_path", _cgroup_path_rule, min_args=1, max_args=2, emit=_cgroup_path),
)

__all__ = ["ADDRESSES", "REGISTERS"]
