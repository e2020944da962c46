"""String and buffer builtins: str, buf, strlen, strcap, strncmp, strcontains, strstr,
str_concat, memcmp, assert_str. Type rules and lowering.

Strings read from memory are `max_strlen` bytes (NUL included) unless the call gives a
smaller literal length; `str(p, n)` keeps n - 1 bytes and the NUL. Large buffers live
in the per-CPU scratch map (codegen/base.py), not on the BPF stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytrace import nodes
from pytrace.builtins.base import (
    I64,
    U64,
    Builtin,
    TypeContext,
    call_args,
    is_int,
    is_str,
    type_word,
)
from pytrace.builtins.rules import VOID
from pytrace.codegen.values import Val
from pytrace.types import ArrayT, BoolT, BufT, IntT, StrT, Type

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter


def _stringlike(t: Type | None) -> bool:
    return is_str(t) or is_int(t) or isinstance(t, ArrayT)


def _length_arg(ctx: TypeContext, node: nodes.Expr, index: int, cap: int) -> int | None:
    """A literal length argument (1..cap), or None when it is computed at run time."""
    arg = call_args(node)[index]
    value = ctx.const_int(arg)
    name = getattr(node, "name", "")
    if value is not None and value < 0:
        ctx.diags.error(f"{name}() length must be positive ({value} provided)", arg.span)
        return None
    return None if value is None else min(value, cap)


def _str_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    cap = ctx.options.max_strlen
    src = args[0] if args else None
    if not _stringlike(src):
        ctx.diags.error("str() expects an integer or a pointer type as first argument "
                        f"({type_word(src)} provided)", node.span)
        return StrT(cap)
    if len(args) == 2:
        if not is_int(args[1]):
            ctx.diags.error(f"str() expects an integer length ({type_word(args[1])} provided)",
                            call_args(node)[1].span)
            return StrT(cap)
        n = _length_arg(ctx, node, 1, cap)
        if n is not None:
            return StrT(max(1, n if not isinstance(src, StrT) else min(n, src.length)))
    if isinstance(src, StrT):
        return src
    if isinstance(src, ArrayT):
        return StrT(min(cap, src.size + 1))
    return StrT(cap)


def _buf_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    cap = ctx.options.max_strlen
    src = args[0] if args else None
    if not _stringlike(src):
        ctx.diags.error("buf() expects an integer, pointer, string or array as first "
                        f"argument ({type_word(src)} provided)", node.span)
    if len(args) == 1:
        if isinstance(src, ArrayT):
            return BufT(min(src.size, cap))
        if isinstance(src, StrT):
            return BufT(min(src.length, cap))
        ctx.diags.error("buf() needs a length as second argument unless the first is an "
                        "array or a string", node.span)
        return BufT(64)
    if not is_int(args[1]):
        ctx.diags.error(f"buf() expects an integer length ({type_word(args[1])} provided)",
                        call_args(node)[1].span)
        return BufT(64)
    n = _length_arg(ctx, node, 1, cap)
    return BufT(n if n is not None else cap)


# ------------------------------------------------------------------ str() and buf()
def _runtime_len(p: ProgEmitter, e: nodes.Expr, cap: int) -> Any:
    """A computed length clamped to 0..cap (the verifier needs the bound)."""
    n = p.as_i64(p.expr(e))
    out = p.alloca_i64()
    p.b.store(n, out)
    with p.b.if_then(p.b.icmp_unsigned(">", n, p.c64(cap))):
        p.b.store(p.c64(cap), out)
    return p.b.load(out)


def _str_into(p: ProgEmitter, e: nodes.Call, dest: Any, t: Type, off: int, zero: bool) -> bool:
    """str(x) read straight into the destination (a map key, a record field...)."""
    if not isinstance(t, StrT):
        return False
    src_t = p.type_of(e.args[0])
    own = p.type_of(e)
    length = min(t.length, own.length if isinstance(own, StrT) else t.length)
    if isinstance(src_t, StrT | ArrayT):
        p.store_into(p.expr(e.args[0]), dest, t, off)
        src_len = src_t.length if isinstance(src_t, StrT) else src_t.size + 1
        if length < t.length or length < src_len:
            # str("abcdef", 3): the copy keeps length - 1 bytes and a NUL
            p.store8(p.c64(0), dest, off + length - 1)
        return True
    ptr = p.as_i64(p.expr(e.args[0]))
    if zero:
        p.zero(dest, t.size, off)
    size: Any = length
    if len(e.args) == 2 and p.constant(e.args[1]) is None and not isinstance(e.args[1], nodes.Int):
        size = _runtime_len(p, e.args[1], length)
    p.probe_read(p.at(dest, off), size, p.b.inttoptr(ptr, p.P8), True, p.user_pointer(src_t),
                 e)
    return True


def _str(p: ProgEmitter, e: nodes.Call) -> Val:
    t = p.type_of(e)
    buf = p.alloca_buf(t.size)
    _str_into(p, e, buf, t, 0, True)
    return Val(t, buf)


def _buf_into(p: ProgEmitter, e: nodes.Call, dest: Any, t: Type, off: int, zero: bool) -> bool:
    """buf(): a u64 length then the bytes."""
    own = p.type_of(e)
    if not isinstance(t, BufT) or not isinstance(own, BufT):
        return False
    src_t = p.type_of(e.args[0])
    n: Any = p.c64(own.length)
    if len(e.args) == 2 and p.constant(e.args[1]) is None and not isinstance(e.args[1], nodes.Int):
        n = _runtime_len(p, e.args[1], own.length)
    if zero:
        p.zero(dest, t.size, off)
    p.store64(n, dest, off)
    if isinstance(src_t, StrT | ArrayT):
        p.copy(dest, p.expr(e.args[0]).v, own.length, off + 8)
        return True
    ptr = p.b.inttoptr(p.as_i64(p.expr(e.args[0])), p.P8)
    size = own.length if isinstance(n, type(p.c64(0))) else n
    p.probe_read(p.at(dest, off + 8), size, ptr, False, p.user_pointer(src_t), e)
    return True


def _buf(p: ProgEmitter, e: nodes.Call) -> Val:
    t = p.type_of(e)
    buf = p.alloca_buf(t.size)
    _buf_into(p, e, buf, t, 0, True)
    return Val(t, buf)


# ------------------------------------------------------------------ string functions
def _string_args(name: str, count: int):  # type: ignore[no-untyped-def]
    def check(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> bool:
        ok = True
        for i in range(count):
            t = args[i] if i < len(args) else None
            if not _stringlike(t):
                nth = ("first", "second", "third")[i]
                ctx.diags.error(f"{name}() expects a string as {nth} argument "
                                f"({type_word(t)} provided)", call_args(node)[i].span)
                ok = False
        return ok

    return check


def _rule(name: str, count: int, result: Type):  # type: ignore[no-untyped-def]
    check = _string_args(name, count)

    def rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
        check(ctx, node, args)
        return result

    return rule


def _literal_count(name: str, index: int, result: Type, strings: int):  # type: ignore[no-untyped-def]
    check = _string_args(name, strings)

    def rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
        check(ctx, node, args)
        arg = call_args(node)[index] if index < len(call_args(node)) else None
        value = ctx.const_int(arg) if arg is not None else None
        if arg is not None and value is None:
            ctx.diags.error(f"{name}() expects an integer literal as {('first', 'second', 'third')[index]} "
                            "argument", arg.span)
        elif value is not None and value < 0:
            ctx.diags.error(f"{name}() length must not be negative ({value} provided)",
                            arg.span if arg is not None else node.span)
        return result

    return rule


def _strlen(p: ProgEmitter, e: nodes.Call) -> Val:
    buf, cap = p.string_operand(e.args[0])
    return Val(U64, p.strlen(buf, cap))


def _strcap(p: ProgEmitter, e: nodes.Call) -> Val:
    t = p.type_of(e.args[0])
    if isinstance(t, StrT):
        cap = t.length
    elif isinstance(t, ArrayT):
        cap = t.count
    else:
        cap = p.checked.options.max_strlen
    return Val(I64, p.c64(cap))


def _strncmp(p: ProgEmitter, e: nodes.Call) -> Val:
    n = p.const_int(e.args[2])
    a, la = p.string_operand(e.args[0])
    b, lb = p.string_operand(e.args[1])
    same = p.str_equal_bufs(a, la, b, lb, n)
    return Val(I64, p.b.zext(p.b.not_(same), p.I64))


def _strstr(p: ProgEmitter, e: nodes.Call) -> Val:
    hay, hl = p.string_operand(e.args[0])
    needle, nl = p.string_operand(e.args[1])
    return Val(I64, p.str_search(hay, hl, needle, nl))


def _strcontains(p: ProgEmitter, e: nodes.Call) -> Val:
    found = _strstr(p, e)
    return Val(BoolT(), p.b.zext(p.b.icmp_signed(">=", found.v, p.c64(0)), p.I64))


def _concat_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    if not _string_args("str_concat", 2)(ctx, node, args):
        return StrT(ctx.options.max_strlen)
    sizes = [t.length if isinstance(t, StrT) else t.size if isinstance(t, ArrayT)
             else ctx.options.max_strlen for t in args]
    return StrT(sizes[0] + sizes[1] - 1)


def _str_concat(p: ProgEmitter, e: nodes.Call) -> Val:
    t = p.type_of(e)
    assert isinstance(t, StrT)
    a, la = p.string_operand(e.args[0])
    b, lb = p.string_operand(e.args[1])
    dest = p.alloca_buf(t.size)
    p.str_concat(dest, t.size, a, la, b, lb)
    return Val(t, dest)


def _memcmp(p: ProgEmitter, e: nodes.Call) -> Val:
    n = p.const_int(e.args[2])
    bufs = []
    for arg in e.args[:2]:
        t = p.type_of(arg)
        if isinstance(t, StrT | ArrayT) or not is_int(t):
            buf = p.expr(arg).v
            size = t.length if isinstance(t, StrT) else t.size
            if size < n:
                raise p.fail(f"memcmp() count {n} is larger than its argument ({size} bytes)",
                             arg)
        else:
            buf = p.alloca_buf(max(8, n))
            p.probe_read(buf, n, p.b.inttoptr(p.as_i64(p.expr(arg)), p.P8), False,
                         p.user_pointer(t), arg)
        bufs.append(buf)
    return Val(I64, p.memcmp(bufs[0], bufs[1], n))


def _memcmp_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    return _literal_count("memcmp", 2, I64, 0)(ctx, node, args)


def _assert_str_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    t = args[0] if args else None
    if not (is_str(t) or isinstance(t, ArrayT) and isinstance(t.elem, IntT) and t.elem.bits == 8):
        ctx.diags.error(f"assert_str() expects a string-like value ({type_word(t)} provided)",
                        node.span)
    return VOID


def _nothing(p: ProgEmitter, e: nodes.Call) -> Val:
    from pytrace.types import VoidT

    return Val(VoidT(), p.c64(0))


STRINGS: tuple[Builtin, ...] = (
    Builtin("str", _str_rule, min_args=1, max_args=2, emit=_str, emit_into=_str_into),
    Builtin("buf", _buf_rule, min_args=1, max_args=2, emit=_buf, emit_into=_buf_into),
    Builtin("strlen", _rule("strlen", 1, U64), min_args=1, max_args=1, emit=_strlen),
    Builtin("strcap", _rule("strcap", 1, I64), min_args=1, max_args=1, emit=_strcap),
    Builtin("strncmp", _literal_count("strncmp", 2, I64, 2), min_args=3, max_args=3,
            emit=_strncmp),
    Builtin("strcontains", _rule("strcontains", 2, BoolT()), min_args=2, max_args=2,
            emit=_strcontains),
    Builtin("strstr", _rule("strstr", 2, I64), min_args=2, max_args=2, emit=_strstr),
    Builtin("str_concat", _concat_rule, min_args=2, max_args=2, emit=_str_concat),
    Builtin("memcmp", _memcmp_rule, min_args=3, max_args=3, emit=_memcmp),
    Builtin("assert_str", _assert_str_rule, min_args=1, max_args=1, emit=_nothing),
)
