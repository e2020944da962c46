"""Pass 6: printf-style calls (printf, system, cat, errorf, warnf): a literal format whose conversions
match the arguments in number and type; time(): a literal format. Every resolved format
is recorded in CheckedProgram.formats for codegen."""

from __future__ import annotations

from pytrace import nodes
from pytrace.builtins.base import type_word
from pytrace.passes.context import CheckedProgram
from pytrace.passes.walk import probe_roots, walk
from pytrace.printf_format import FormatError, parse_format
from pytrace.types import BufT, IntT, PtrT, Type, VoidT

FORMAT_CALLS = frozenset({"printf", "system", "cat", "errorf", "warnf", "debugf"})


def accepts(kind: str, t: Type | None) -> bool:
    """Whether a conversion of this kind ('integer', 'string', 'buffer') prints type t;
    %s prints any value."""
    if kind == "integer":
        return isinstance(t, IntT | PtrT)
    if kind == "buffer":
        return isinstance(t, BufT)
    return t is not None and not isinstance(t, VoidT)


def format_text(cp: CheckedProgram, e: nodes.Expr) -> str | None:
    if isinstance(e, nodes.Str):
        return e.value
    value = cp.constants.get(e)
    return value if isinstance(value, str) else None


def check_call(cp: CheckedProgram, call: nodes.Call) -> None:
    diags = cp.diagnostics
    if not call.args:
        return  # the argument count was reported by typecheck
    fmt = format_text(cp, call.args[0])
    if fmt is None:
        t = cp.types.get(call.args[0])
        diags.error(f"{call.name}() expects a string literal ({type_word(t)} provided)",
                    call.span)
        return
    cp.formats[call] = fmt
    try:
        convs = parse_format(fmt)
    except FormatError as err:
        diags.error(f"{call.name}: {err}", call.args[0].span)
        return
    args = call.args[1:]
    if len(args) < len(convs):
        diags.error(f"{call.name}: Not enough arguments for format string ({len(args)} "
                    f"supplied, {len(convs)} expected)", call.span)
        return
    if len(args) > len(convs):
        diags.error(f"{call.name}: Too many arguments for format string ({len(args)} "
                    f"supplied, {len(convs)} expected)", call.span)
        return
    for conv, arg in zip(convs, args, strict=False):
        t = cp.types.get(arg)
        if not accepts(conv.kind, t):
            diags.error(f"{call.name}: %{conv.conv} specifier expects a value of type "
                        f"{conv.kind} ({type_word(t)} supplied)", call.span)


def check_time(cp: CheckedProgram, call: nodes.Call) -> None:
    if not call.args:
        return  # the default format (the builtin's lowering knows it)
    fmt = format_text(cp, call.args[0])
    if fmt is None:
        cp.diagnostics.error("time() expects a string literal as format", call.args[0].span)
    else:
        cp.formats[call] = fmt


def run(cp: CheckedProgram) -> None:
    for checked in cp.probes:
        for root in probe_roots(checked.probe):
            for node in walk(root):
                if isinstance(node, nodes.Call) and node.name in FORMAT_CALLS:
                    check_call(cp, node)
                elif isinstance(node, nodes.Call) and node.name == "time":
                    check_time(cp, node)
