"""Type-rule building blocks shared by the builtin families: argument checks with
bpftrace's wording, literal arguments, and common result types."""

from __future__ import annotations

from pytrace import nodes
from pytrace.builtins.base import TypeContext, TypeRule, call_args, is_int, is_str, type_word
from pytrace.types import Type, VoidT

VOID = VoidT()
MANY = 128  # "at least N arguments"


def expect(ctx: TypeContext, node: nodes.Expr, index: int, args: list[Type],
           want: str, what: str) -> None:
    """Record `f() expects <what> as <n> argument (<x> provided)` when args[index] is wrong."""
    t = args[index] if index < len(args) else None
    ok = is_int(t) if want == "int" else is_str(t) if want == "str" else (is_int(t) or is_str(t))
    if not ok:
        name = getattr(node, "name", "?")
        nth = ("first", "second", "third", "fourth")[min(index, 3)]
        ctx.diags.error(f"{name}() expects {what} as {nth} argument ({type_word(t)} provided)",
                        call_args(node)[index].span if index < len(call_args(node)) else node.span)


def checked(result: Type | TypeRule, *specs: tuple[str, str]) -> TypeRule:
    """A rule checking each argument against (kind, description) and returning `result`."""

    def rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
        for i, (want, what) in enumerate(specs):
            if i < len(args) and want != "any":
                expect(ctx, node, i, args, want, what)
        return result(ctx, node, args) if callable(result) else result

    return rule


def literal_str_arg(result: Type) -> TypeRule:
    """A rule for functions whose first argument must be a string literal."""

    def rule(ctx: TypeContext, node: nodes.Expr, args: list[Type]) -> Type:
        args_n = call_args(node)
        if not args_n or ctx.const_str(args_n[0]) is None:
            ctx.diags.error(f"{getattr(node, 'name', '')}() expects a string literal as first "
                            "argument", node.span)
        return result

    return rule
