"""Builtin functions (printf, print, str, buf, clear, delete, ksym, system …):
argument checks and result types."""

from __future__ import annotations

from pytrace import nodes
from pytrace.builtins.base import (
    I64,
    U64,
    Builtin,
    TypeContext,
    TypeRule,
    UserFormatT,
    call_args,
    fixed,
    is_int,
    is_str,
    type_word,
)
from pytrace.types import ArrayT, BufT, IntT, PtrT, StrT, SymT, Type, VoidT

VOID = VoidT()
MAX_STR = 1024
MAX_BUF = 1024


def _expect(ctx: TypeContext, node: nodes.Expr, index: int, args: list[Type],
            want: str, what: str) -> None:
    """Record `f() expects <what> as <n> argument (<x> provided)` when args[index] is wrong."""
    t = args[index] if index < len(args) else None
    ok = is_int(t) if want == "int" else is_str(t) if want == "str" else (is_int(t) or is_str(t))
    if not ok:
        name = getattr(node, "name", "?")
        nth = ("first", "second", "third", "fourth")[min(index, 3)]
        ctx.diags.error(f"{name}() expects {what} as {nth} argument ({type_word(t)} provided)",
                        call_args(node)[index].span if index < len(call_args(node)) else node.span)


def _checked(result: Type | TypeRule, *specs: tuple[str, str]) -> TypeRule:
    """A rule checking each argument against (kind, description) and returning `result`."""

    def rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
        for i, (want, what) in enumerate(specs):
            if i < len(args) and want != "any":
                _expect(ctx, node, i, args, want, what)
        return result(ctx, node, args) if callable(result) else result

    return rule


def _literal_len(ctx: TypeContext, node: nodes.Expr, index: int, cap: int) -> int | None:
    """A literal length argument, checked to be 0..cap; None when not a literal."""
    arg = call_args(node)[index]
    value = ctx.const_int(arg)
    if value is not None and not 0 <= value <= cap:
        ctx.diags.error(f"{getattr(node, 'name', '')}() length must be between 0 and {cap} "
                        f"({value} provided)", arg.span)
        return None
    return value


def _str(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
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
        n = _literal_len(ctx, node, 1, MAX_STR)
        if n is not None:
            return StrT(n + 1)
    if isinstance(src, StrT):
        return src
    return StrT(64)


def _buf(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
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
    n = _literal_len(ctx, node, 1, MAX_BUF)
    return BufT(n if n is not None else 64)


def _print(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    for i, arg in enumerate(call_args(node)[1:], start=1):
        if i < len(args) and not is_int(args[i]):
            ctx.diags.error(f"print() expects integer top and div arguments "
                            f"({type_word(args[i])} provided)", arg.span)
    return VOID


def _ntop(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    if len(args) == 2 and not is_int(args[0]):
        _expect(ctx, node, 0, args, "int", "an integer address family")
    addr = args[-1] if args else None
    if not (is_int(addr) or isinstance(addr, ArrayT)):
        ctx.diags.error(f"ntop() expects an integer or array address ({type_word(addr)} "
                        "provided)", node.span)
    return UserFormatT("inet", 24)


def _pton(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    text = ctx.const_str(call_args(node)[0]) if call_args(node) else None
    if text is None:
        ctx.diags.error("pton() expects a string literal", node.span)
        return ArrayT(IntT(8, False), 4)
    return ArrayT(IntT(8, False), 16 if ":" in text else 4)


def _literal_str_arg(result: Type) -> TypeRule:
    def rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
        args_n = call_args(node)
        if not args_n or ctx.const_str(args_n[0]) is None:
            ctx.diags.error(f"{getattr(node, 'name', '')}() expects a string literal as first "
                            "argument", node.span)
        return result

    return rule


def _strftime(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    fmt = ctx.const_str(call_args(node)[0]) if call_args(node) else None
    if fmt is None:
        ctx.diags.error("strftime() expects a string literal as first argument", node.span)
    if len(args) > 1 and not is_int(args[1]):
        _expect(ctx, node, 1, args, "int", "an integer timestamp")
    return UserFormatT("strftime", 8, fmt or "")


def _bswap(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
    t = args[0] if args else None
    if not isinstance(t, IntT):
        ctx.diags.error(f"bswap() expects an integer argument ({type_word(t)} provided)",
                        node.span)
        return U64
    return IntT(t.bits, False)


def _f(name: str, rule: TypeRule, lo: int, hi: int, **kw: object) -> Builtin:
    return Builtin(name, rule, min_args=lo, max_args=hi, **kw)  # type: ignore[arg-type]


MANY = 128
FUNCTIONS: tuple[Builtin, ...] = (
    _f("printf", fixed(VOID), 1, MANY, statement=True),
    _f("print", _print, 1, 3, statement=True, map_arg=True),
    _f("exit", _checked(VOID, ("int", "an integer exit code")), 0, 1, statement=True),
    _f("str", _str, 1, 2),
    _f("buf", _buf, 1, 2),
    _f("clear", fixed(VOID), 1, 1, statement=True, map_arg=True),
    _f("zero", fixed(VOID), 1, 1, statement=True, map_arg=True),
    _f("delete", fixed(VOID), 1, 2, statement=True, map_arg=True),
    _f("has_key", fixed(I64), 2, 2, map_arg=True),
    _f("len", fixed(I64), 1, 1, map_arg=True),
    _f("time", _checked(VOID, ("str", "a string format")), 0, 1, statement=True),
    _f("strftime", _strftime, 2, 2),
    _f("ksym", _checked(SymT(True), ("int", "an integer address")), 1, 1),
    _f("usym", _checked(SymT(False), ("int", "an integer address")), 1, 1),
    _f("kaddr", _literal_str_arg(U64), 1, 1, raw_args=True),
    _f("uaddr", _literal_str_arg(PtrT(None, user=True)), 1, 1, raw_args=True),
    _f("reg", _literal_str_arg(U64), 1, 1, raw_args=True),
    _f("join", _checked(VOID, ("int", "an integer pointer to an array of strings"),
                        ("str", "a string separator")), 1, 2, statement=True),
    _f("ntop", _ntop, 1, 2),
    _f("pton", _pton, 1, 1, raw_args=True),
    _f("macaddr", _checked(UserFormatT("macaddr", 8), ("any", "")), 1, 1),
    _f("strerror", _checked(UserFormatT("strerror", 8), ("int", "an integer errno")), 1, 1),
    _f("system", fixed(VOID), 1, MANY, statement=True, unsafe=True),
    _f("signal", fixed(VOID), 1, 1, statement=True, unsafe=True,
       kinds=frozenset({"kprobe", "kretprobe", "uprobe", "uretprobe", "usdt", "tracepoint",
                        "rawtracepoint", "profile", "interval", "software", "hardware",
                        "fentry", "fexit"})),
    _f("override", _checked(VOID, ("int", "an integer return code")), 1, 1, statement=True,
       unsafe=True, kinds=frozenset({"kprobe"})),
    _f("cat", fixed(VOID), 1, MANY, statement=True),
    _f("cgroupid", _literal_str_arg(U64), 1, 1, raw_args=True),
    _f("cgroup_path", _checked(UserFormatT("cgroup_path", 8), ("int", "an integer id")), 1, 2),
    _f("bswap", _bswap, 1, 1),
    _f("path", _checked(StrT(64), ("int", "a pointer")), 1, 1,
       kinds=frozenset({"fentry", "fexit", "iter"})),
    _f("strncmp", _checked(I64, ("str", "a string"), ("str", "a string"),
                           ("int", "an integer length")), 3, 3),
    _f("strcontains", _checked(I64, ("str", "a string"), ("str", "a string")), 2, 2),
)
