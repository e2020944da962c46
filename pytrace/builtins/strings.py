"""String and buffer builtins: str, buf, strncmp, strcontains. Type rules and lowering."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytrace import nodes
from pytrace.builtins.base import I64, Builtin, TypeContext, call_args, is_int, is_str, type_word
from pytrace.builtins.rules import checked, literal_len
from pytrace.codegen.values import Val
from pytrace.types import ArrayT, BufT, StrT, Type

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

MAX_STR = 1024
MAX_BUF = 1024


def _str_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    src = args[0] if args else None
    if not (is_int(src) or is_str(src) or isinstance(src, ArrayT)):
        ctx.diags.error("str() expects an integer or a pointer type as first argument "
                        f"({type_word(src)} provided)", node.span)
        return StrT(64)
    if len(args) == 2:
        if not is_int(args[1]):
            ctx.diags.error(f"str() expects an integer length ({type_word(args[1])} provided)",
                            call_args(node)[1].span)
            return StrT(64)
        n = literal_len(ctx, node, 1, MAX_STR)
        if n is not None:
            return StrT(n + 1)
    if isinstance(src, StrT):
        return src
    return StrT(64)


def _buf_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    src = args[0] if args else None
    if not (is_int(src) or is_str(src) or isinstance(src, ArrayT)):
        ctx.diags.error("buf() expects an integer, pointer, string or array as first "
                        f"argument ({type_word(src)} provided)", node.span)
    if len(args) == 1:
        if isinstance(src, ArrayT):
            return BufT(min(src.elem.size * src.count, MAX_BUF))
        if isinstance(src, StrT):
            return BufT(src.length)
        ctx.diags.error("buf() needs a length as second argument unless the first is an "
                        "array or a string", node.span)
        return BufT(64)
    if not is_int(args[1]):
        ctx.diags.error(f"buf() expects an integer length ({type_word(args[1])} provided)",
                        call_args(node)[1].span)
        return BufT(64)
    n = literal_len(ctx, node, 1, MAX_BUF)
    return BufT(n if n is not None else 64)


def _str_into(p: ProgEmitter, e: nodes.Call, dest: Any, t: Type, off: int, zero: bool) -> bool:
    """str(x) read straight into the destination (a map key, a record field...)."""
    if not isinstance(t, StrT):
        return False
    src_t = p.type_of(e.args[0])
    if isinstance(src_t, StrT):
        p.store_into(p.expr(e.args[0]), dest, t, off)
        return True
    ptr = p.as_i64(p.expr(e.args[0]))
    own = p.type_of(e)
    length = min(t.length, own.length if isinstance(own, StrT) else t.length)
    if zero:
        p.zero(dest, t.size, off)
    p.probe_read(p.at(dest, off), length, p.b.inttoptr(ptr, p.P8), True,
                 p.user_pointer(src_t))
    return True


def _str(p: ProgEmitter, e: nodes.Call) -> Val:
    t = p.type_of(e)
    buf = p.alloca_buf(t.size)
    _str_into(p, e, buf, t, 0, True)
    return Val(t, buf)


STRINGS: tuple[Builtin, ...] = (
    Builtin("str", _str_rule, min_args=1, max_args=2, emit=_str, emit_into=_str_into),
    Builtin("buf", _buf_rule, min_args=1, max_args=2),
    Builtin("strncmp", checked(I64, ("str", "a string"), ("str", "a string"),
                               ("int", "an integer length")), min_args=3, max_args=3),
    Builtin("strcontains", checked(I64, ("str", "a string"), ("str", "a string")),
            min_args=2, max_args=2),
)
