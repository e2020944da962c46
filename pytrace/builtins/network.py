"""Network values: ntop, pton, macaddr, socket_cookie, skboutput. Type rules and
lowering. ntop and macaddr keep the raw bytes in BPF; userspace formats them
(pytrace/userformat.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytrace import nodes
from pytrace.builtins.base import U64, Builtin, TypeContext, call_args, is_int, type_word
from pytrace.codegen.values import Val
from pytrace.types import ArrayT, BufT, IntT, StrT, Type, UserFormatT

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

AF_INET, AF_INET6 = 2, 10
INET = UserFormatT("inet", 24)
GET_SOCKET_COOKIE = 46
TRACING_KINDS = frozenset({"fentry", "fexit"})


def raw_size(t: Type | None) -> int:
    """Bytes of a char/u8 array, string or buffer value (its C size)."""
    if isinstance(t, StrT):
        return t.length
    if isinstance(t, BufT):
        return t.length
    if isinstance(t, ArrayT):
        bits = t.elem.bits if isinstance(t.elem, IntT) else 64
        return t.count * max(1, bits // 8)
    return 0


def _ntop_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    if len(args) == 2 and not is_int(args[0]):
        ctx.diags.error(f"ntop() expects an integer address family ({type_word(args[0])} "
                        "provided)", call_args(node)[0].span)
    addr = args[-1] if args else None
    if not (is_int(addr) or raw_size(addr) in (4, 16)):
        ctx.diags.error("ntop() expects an integer, char[4] or char[16] address "
                        f"({type_word(addr)} provided)", call_args(node)[-1].span)
    return INET


def _ntop(p: ProgEmitter, e: nodes.Call) -> Val:
    """u64 family, then 16 address bytes (network order, as in memory)."""
    addr_e = e.args[-1]
    t = p.type_of(addr_e)
    buf = p.alloca_buf(INET.size)
    p.zero(buf, INET.size)
    size = raw_size(t)
    default = AF_INET6 if size == 16 else AF_INET
    family: Any = p.as_i64(p.expr(e.args[0])) if len(e.args) == 2 else p.c64(default)
    p.store64(family, buf, 0)
    val = p.expr(addr_e)
    if val.scalar:
        p.store64(p.b.and_(val.v, p.c64(0xFFFFFFFF)), buf, 8)
    else:
        p.copy(buf, val.v, size, 8)
    return Val(INET, buf)


def _pton_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    text = ctx.const_str(call_args(node)[0]) if call_args(node) else None
    if text is None:
        ctx.diags.error("pton() expects a string literal", node.span)
        return ArrayT(IntT(8, False), 4)
    if _pton_bytes(text) is None:
        ctx.diags.error(f"pton() expects a valid IPv4 or IPv6 address ('{text}' provided)",
                        node.span)
    return ArrayT(IntT(8, False), 16 if ":" in text else 4)


def _pton_bytes(text: str) -> bytes | None:
    import socket  # only for pton(): it costs a start-up 3 ms

    try:
        return socket.inet_pton(socket.AF_INET6 if ":" in text else socket.AF_INET, text)
    except OSError:
        return None


def _pton(p: ProgEmitter, e: nodes.Call) -> Val:
    """The address bytes in network order, laid out as in memory (a char array)."""
    t = p.type_of(e)
    data = _pton_bytes(p.const_string(e.args[0])) or b""
    buf = p.alloca_buf(t.size)
    p.zero(buf, t.size)
    padded = data.ljust((len(data) + 7) // 8 * 8, b"\0")
    for off in range(0, len(padded), 8):
        p.store64(p.c64(int.from_bytes(padded[off:off + 8], "little")), buf, off)
    return Val(t, buf)


def _macaddr_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    t = args[0] if args else None
    if not (is_int(t) or raw_size(t) >= 6):
        ctx.diags.error("macaddr() expects an array of 6 bytes or a pointer to them "
                        f"({type_word(t)} provided)", node.span)
    return UserFormatT("macaddr", 6)


def _macaddr(p: ProgEmitter, e: nodes.Call) -> Val:
    t = p.type_of(e.args[0])
    buf = p.alloca_buf(8)
    p.store64(p.c64(0), buf)
    val = p.expr(e.args[0])
    if val.scalar:
        p.probe_read(buf, 6, p.b.inttoptr(val.v, p.P8), False, p.user_pointer(t), e)
    else:  # a buffer's bytes follow its length
        p.copy(buf, val.v, 8, 0, 8 if isinstance(t, BufT) else 0)
    return Val(UserFormatT("macaddr", 6), p.b.and_(p.load64(buf), p.c64((1 << 48) - 1)))


def _socket_cookie(p: ProgEmitter, e: nodes.Call) -> Val:
    sk = p.as_i64(p.expr(e.args[0]))
    return Val(U64, p.helper(GET_SOCKET_COOKIE, p.I64, [p.b.inttoptr(sk, p.P8)]))


def _skboutput_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    if call_args(node) and ctx.const_str(call_args(node)[0]) is None:
        ctx.diags.error("skboutput() expects a string literal file name", node.span)
    for i in (1, 2, 3):
        if i < len(args) and not is_int(args[i]):
            ctx.diags.error(f"skboutput() expects an integer as argument {i + 1} "
                            f"({type_word(args[i])} provided)", call_args(node)[i].span)
    return IntT(32, False)


NETWORK: tuple[Builtin, ...] = (
    Builtin("ntop", _ntop_rule, min_args=1, max_args=2, emit=_ntop),
    Builtin("pton", _pton_rule, min_args=1, max_args=1, raw_args=True, emit=_pton),
    Builtin("macaddr", _macaddr_rule, min_args=1, max_args=1, emit=_macaddr),
    Builtin("socket_cookie", lambda ctx, node, args: U64, min_args=1, max_args=1,
            kinds=TRACING_KINDS, emit=_socket_cookie),
    # the pcap writer (a perf buffer reader) is not implemented: refused as not implemented
    Builtin("skboutput", _skboutput_rule, min_args=4, max_args=4, kinds=TRACING_KINDS),
)
