"""Other builtin functions: time and error formatting (strftime, strerror,
syscall_name), bswap, path, and the compile-time ones (getopt, kfunc_exist,
kfunc_allowed, default_str_length, static_assert, fail). Type rules and lowering."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytrace import nodes
from pytrace.builtins.base import (
    I64,
    Builtin,
    TypeContext,
    call_args,
    fixed,
    is_int,
    type_word,
)
from pytrace.builtins.rules import MANY, VOID
from pytrace.codegen.values import Val
from pytrace.types import BoolT, IntT, StrT, Type, UserFormatT, VoidT

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

D_PATH = 147
PATH_KINDS = frozenset({"fentry", "fexit", "iter"})


def _strftime(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    fmt = ctx.const_str(call_args(node)[0]) if call_args(node) else None
    if fmt is None:
        ctx.diags.error("strftime() expects a string literal as first argument", node.span)
    if len(args) > 1 and not is_int(args[1]):
        ctx.diags.error("strftime() expects an integer timestamp as second argument "
                        f"({type_word(args[1])} provided)", call_args(node)[1].span)
    elif len(args) > 1:
        value = ctx.const_int(call_args(node)[1])
        if value is not None and value < 0:
            ctx.diags.error("strftime() timestamps must be non-negative", call_args(node)[1].span)
    return UserFormatT("strftime", 8, fmt or "")


def _int_value(kind: str):  # type: ignore[no-untyped-def]
    """strerror(n), syscall_name(n): an integer kept as it is, named in userspace."""

    def rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
        if args and not is_int(args[0]):
            ctx.diags.error(f"{getattr(node, 'name', '')}() expects an integer argument "
                            f"({type_word(args[0])} provided)", call_args(node)[0].span)
        return UserFormatT(kind)

    return rule


def _user_value(p: ProgEmitter, e: nodes.Call) -> Val:
    return Val(p.type_of(e), p.as_i64(p.expr(e.args[-1])))


# ------------------------------------------------------------------ bswap
def _bswap_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    t = args[0] if args else None
    if not isinstance(t, IntT):
        ctx.diags.error(f"bswap() expects an integer argument ({type_word(t)} provided)",
                        node.span)
        return IntT(64, False)
    return IntT(t.bits, False)


def _bswap(p: ProgEmitter, e: nodes.Call) -> Val:
    t = p.type_of(e)
    assert isinstance(t, IntT)
    v = p.as_i64(p.expr(e.args[0]))
    if t.bits == 8:
        return Val(t, p.b.and_(v, p.c64(0xFF)))
    return Val(t, p.bswap(v, t.bits))


# ------------------------------------------------------------------ path
def _path_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    if args and not is_int(args[0]):
        ctx.diags.error(f"path() expects a struct path * argument ({type_word(args[0])} "
                        "provided)", call_args(node)[0].span)
    size = ctx.options.max_strlen
    if len(args) > 1:
        value = ctx.const_int(call_args(node)[1])
        if value is None or value <= 0:
            ctx.diags.error("path() expects a positive integer literal size",
                            call_args(node)[1].span)
        else:
            size = min(value, size)
    return StrT(size)


def _path(p: ProgEmitter, e: nodes.Call) -> Val:
    """bpf_d_path: allowed only in fentry/fexit/LSM/iter programs of some functions."""
    t = p.type_of(e)
    assert isinstance(t, StrT)
    buf = p.alloca_buf(t.size)
    p.zero(buf, t.size)
    ptr = p.b.inttoptr(p.as_i64(p.expr(e.args[0])), p.P8)
    ret = p.helper(D_PATH, p.I64, [ptr, buf, p.c32(t.length)])
    p.check_helper(ret, "d_path", e)
    return Val(t, buf)


# ------------------------------------------------------------------ compile time
def getopt_value(named: dict[str, str], name: str, default: nodes.Expr | None,
                 default_value: int | str | None) -> tuple[Type, int | str] | str:
    """(type, value) of getopt(name, default) given the named program parameters, or an
    error message."""
    is_bool = default is None or isinstance(default, nodes.Int) and default.boolean
    given = named.get(name)
    if is_bool:
        if given is None:
            return BoolT(), int(bool(default_value))
        if given in ("", "1", "true"):
            return BoolT(), 1
        if given in ("0", "false"):
            return BoolT(), 0
        return f"Invalid value for named program argument --{name}: '{given}' (expected a " \
               "boolean: true, false, 1 or 0)"
    if isinstance(default_value, str):
        text = default_value if given is None else given
        return StrT(len(text.encode()) + 1), text
    if given is None:
        return I64, int(default_value or 0)
    try:
        return I64, int(given.strip(), 0)
    except ValueError:
        return f"Invalid value for named program argument --{name}: '{given}' (expected an " \
               "integer)"


def _getopt_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    cargs = call_args(node)
    name = ctx.const_str(cargs[0]) if cargs else None
    if name is None:
        ctx.diags.error("First argument to 'getopt' must be a string literal.",
                        cargs[0].span if cargs else node.span)
        return BoolT()
    default = cargs[1] if len(cargs) > 1 else None
    value: int | str | None = None
    if default is not None:
        value = ctx.const_str(default)
        if value is None:
            value = ctx.const_int(default)
        if value is None:
            ctx.diags.error("Second argument to 'getopt' must be a string literal, integer "
                            "literal, or a boolean literal.", default.span)
            return I64
    if len(cargs) > 2 and ctx.const_str(cargs[2]) is None:
        ctx.diags.error("getopt() expects a string literal description", cargs[2].span)
    result = getopt_value(ctx.options.named_params, name, default, value)
    if isinstance(result, str):
        ctx.diags.error(result, node.span)
        return I64
    return result[0]


def _getopt(p: ProgEmitter, e: nodes.Call) -> Val:
    name = p.const_string(e.args[0])
    default = e.args[1] if len(e.args) > 1 else None
    value: int | str | None = None
    if default is not None:
        value = p.checked.constants.get(default) if not isinstance(default, nodes.Str | nodes.Int) \
            else default.value
        if isinstance(default, nodes.Unary) and isinstance(default.operand, nodes.Int):
            value = -default.operand.value
    result = getopt_value(p.checked.options.named_params, name, default, value)
    if isinstance(result, str):
        raise p.fail(result, e)
    t, v = result
    if isinstance(v, str):
        return p.const_str(v)
    return Val(t, p.c64(v))


def _kfunc_rule(allowed: bool):  # type: ignore[no-untyped-def]
    def rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
        if not call_args(node) or ctx.const_str(call_args(node)[0]) is None:
            ctx.diags.error(f"{getattr(node, 'name', '')}() expects a string literal kfunc "
                            "name", node.span)
        return BoolT()

    return rule


def _kfunc(allowed: bool):  # type: ignore[no-untyped-def]
    """kfunc_exist: the kernel's BTF has the function; kfunc_allowed: and this program
    type may call kfuncs (only fentry/fexit programs here)."""

    def emit(p: ProgEmitter, e: nodes.Call) -> Val:
        from pytrace.kernelinfo import kernel_function_exists

        exists = kernel_function_exists(p.const_string(e.args[0]))
        ok = exists and (not allowed or p.target.kind in ("fentry", "fexit"))
        return Val(BoolT(), p.c64(int(ok)))

    return emit


def _default_str_length(p: ProgEmitter, e: nodes.Expr) -> Val:
    return Val(I64, p.c64(p.checked.options.max_strlen))


def _compile_time(p: ProgEmitter, e: nodes.Call) -> Val:
    """static_assert() and fail() were checked by the compile-time pass."""
    return Val(VoidT(), p.c64(0))


def _static_assert_rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    if len(call_args(node)) > 1 and ctx.const_str(call_args(node)[1]) is None:
        ctx.diags.error("static_assert() expects a string literal message",
                        call_args(node)[1].span)
    return VOID


FUNCTIONS: tuple[Builtin, ...] = (
    Builtin("strftime", _strftime, min_args=2, max_args=2, emit=_user_value),
    Builtin("strerror", _int_value("strerror"), min_args=1, max_args=1, emit=_user_value),
    Builtin("syscall_name", _int_value("syscall_name"), min_args=1, max_args=1,
            emit=_user_value),
    Builtin("bswap", _bswap_rule, min_args=1, max_args=1, emit=_bswap),
    Builtin("path", _path_rule, min_args=1, max_args=2, kinds=PATH_KINDS, emit=_path),
    Builtin("getopt", _getopt_rule, min_args=1, max_args=3, emit=_getopt),
    Builtin("kfunc_exist", _kfunc_rule(False), min_args=1, max_args=1, raw_args=True,
            emit=_kfunc(False)),
    Builtin("kfunc_allowed", _kfunc_rule(True), min_args=1, max_args=1, raw_args=True,
            emit=_kfunc(True)),
    Builtin("default_str_length", fixed(I64), identifier=True, emit=_default_str_length),
    Builtin("static_assert", _static_assert_rule, min_args=1, max_args=2, emit=_compile_time),
    Builtin("fail", fixed(VOID), min_args=1, max_args=MANY, emit=_compile_time),
)
