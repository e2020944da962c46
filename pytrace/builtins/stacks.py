"""kstack / ustack (bpf_get_stackid into the shared STACK_TRACE map) and ksym / usym
(an address resolved to a symbol in userspace): type rules and lowering."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytrace import nodes
from pytrace.builtins.base import Builtin, Emit, TypeContext, call_args
from pytrace.builtins.identifiers import current_pid
from pytrace.codegen import helpers as h
from pytrace.codegen.values import Val
from pytrace.resources import GLOBAL_CPID, STACKS_MAP, USTACK_PIDS_MAP, EventKind
from pytrace.types import IntT, StackT, SymT, Type

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

STACK_MODES = ("bpftrace", "perf", "raw")
MAX_STACK = 1024
BPF_F_USER_STACK = 256
BPF_NOEXIST = 1
SIGSTOP = 19
U64 = IntT(64, False)


def _stack_rule(kernel: bool, name: str = ""):  # type: ignore[no-untyped-def]
    def rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
        # the stack_mode config variable is the default (build_id is not supported)
        configured = getattr(ctx.options, "stack_mode", "bpftrace")
        mode, limit = (configured if configured in STACK_MODES else "bpftrace"), 127
        for arg in call_args(node):
            if isinstance(arg, nodes.Identifier) and arg.name in STACK_MODES:
                mode = arg.name
                continue
            value = ctx.const_int(arg)
            if value is None:
                ctx.diags.error(f"{name or ('kstack' if kernel else 'ustack')}: expected a stack mode ({', '.join(STACK_MODES)}) "
                                "or an integer literal limit", arg.span)
            elif not 0 < value <= MAX_STACK:
                ctx.diags.error(f"stack limit must be between 1 and {MAX_STACK} "
                                f"({value} provided)", arg.span)
            else:
                limit = value
        return StackT(kernel, limit, mode)

    return rule


def _owner(p: ProgEmitter, kernel: bool) -> Any:
    """The pid stored beside a user address (its address space), 0 for the kernel; a
    process seen here for the first time is announced to userspace, which reads its
    mappings while it still runs (so its stacks resolve after it has exited)."""
    if kernel:
        return p.c64(0)
    pid = current_pid(p)
    note_pid(p, pid)
    return pid


def note_pid(p: ProgEmitter, pid: Any) -> None:
    """Send a PID_SEEN record the first time `pid` is seen (__ustack_pids remembers).

    The -c child (pytrace's own) is also stopped there with SIGSTOP, and continued by
    the session once its mappings are read: a short program would otherwise be gone
    before userspace sees the record. Not with dw_ustack: the session holds the child
    at its entry point and reads them there (a second stop could race with that one)."""
    gv = p.gen.map_global(USTACK_PIDS_MAP)
    key = p.alloca_buf(8)
    p.store64(pid, key)
    with p.b.if_then(p.is_null(p.maps.lookup(gv, key))):
        zero = p.alloca_buf(8)
        p.store64(p.c64(0), zero)
        p.maps.update(gv, key, zero, BPF_NOEXIST)
        p.event(EventKind.PID_SEEN, [Val(U64, pid)])
        if p.checked.options.has_child and not p.gen.uses_dw_ustack:
            with p.b.if_then(p.b.icmp_unsigned("==", pid, p.global_slot(GLOBAL_CPID))):
                p.helper(h.SEND_SIGNAL, p.I64, [p.c64(SIGSTOP)])


def _stack(kernel: bool) -> Emit:
    def emit(p: ProgEmitter, node: nodes.Expr) -> Val:
        t = p.type_of(node)
        buf = p.alloca_buf(16)
        stacks = p.map_ptr(p.gen.map_global(STACKS_MAP))
        flags = 0 if kernel else BPF_F_USER_STACK
        stack_id = p.helper(h.GET_STACKID, p.I64, [p.ctx, stacks, p.c64(flags)])
        # a stack that cannot be read (a kernel thread's user stack, a full stack map)
        # is empty, whoever's it is: every such stack is one key, (-1, 0)
        failed = p.b.icmp_signed("<", stack_id, p.c64(0))
        p.store64(p.b.select(failed, p.c64(-1), stack_id), buf, 0)
        p.store64(p.b.select(failed, p.c64(0), _owner(p, kernel)), buf, 8)
        return Val(t, buf)

    return emit


def _dw_stack(p: ProgEmitter, node: nodes.Expr) -> Val:
    """dw_ustack: the user stack unwound with DWARF CFI (codegen/dwunwind.py)."""
    from pytrace.codegen.dwunwind import emit_dw_ustack

    t = p.type_of(node)
    assert isinstance(t, StackT)
    pid = current_pid(p)
    note_pid(p, pid)
    return Val(t, emit_dw_ustack(p, node, t.limit, pid)[0])


def dw_stack_depth(p: ProgEmitter, node: nodes.Expr) -> Val:
    """len(dw_ustack): the frames the DWARF unwinder finds."""
    from pytrace.codegen.dwunwind import emit_dw_ustack

    t = p.type_of(node)
    assert isinstance(t, StackT)
    return Val(U64, emit_dw_ustack(p, node, t.limit, current_pid(p))[1])


def _sym(kernel: bool) -> Emit:
    def emit(p: ProgEmitter, node: nodes.Call) -> Val:
        addr = p.as_i64(p.expr(node.args[0]))
        buf = p.alloca_buf(16)
        p.store64(addr, buf, 0)
        p.store64(_owner(p, kernel), buf, 8)
        return Val(SymT(kernel), buf)

    return emit


def _sym_rule(kernel: bool):  # type: ignore[no-untyped-def]
    def rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
        from pytrace.builtins.base import is_int, type_word

        if args and not is_int(args[0]):
            name = "ksym" if kernel else "usym"
            ctx.diags.error(f"{name}() expects an integer address as first argument "
                            f"({type_word(args[0])} provided)", call_args(node)[0].span)
        return SymT(kernel)

    return rule


STACKS: tuple[Builtin, ...] = (
    Builtin("kstack", _stack_rule(True), identifier=True, min_args=0, max_args=2,
            raw_args=True, emit=_stack(True)),
    Builtin("ustack", _stack_rule(False), identifier=True, min_args=0, max_args=2,
            raw_args=True, emit=_stack(False)),
    Builtin("dw_ustack", _stack_rule(False, "dw_ustack"), identifier=True, min_args=0,
            max_args=2, raw_args=True, emit=_dw_stack),
    Builtin("ksym", _sym_rule(True), min_args=1, max_args=1, emit=_sym(True)),
    Builtin("usym", _sym_rule(False), min_args=1, max_args=1, emit=_sym(False)),
)
