"""container_of(ptr, T, member): the standard library macro that takes a type.

Each use becomes, on the tree, `(T *)((uint64)ptr - offsetof(T, member))`: a pointer
to the T whose `member` (a name or a `a.b` path) `ptr` points at. The new nodes take
the call's span and the arguments keep theirs, so every diagnostic points where the
program wrote it. A user macro named container_of with three parameters overrides this
one (the macros pass expands it first). T is written bare (`struct S`), as a typedef
name or as `typeof(...)`.
"""

from __future__ import annotations

from pytrace import nodes
from pytrace.diagnostics import Diagnostics
from pytrace.passes.context import CheckedProgram
from pytrace.passes.rewrite import rewrite_children

NAME = "container_of"


def run(cp: CheckedProgram) -> None:
    def replace(node: nodes.Node) -> nodes.Node | None:
        if not isinstance(node, nodes.Call) or node.name != NAME or node.bang:
            return None
        rewrite_children(node, replace)  # a container_of inside the arguments first
        return expand(node, cp.diagnostics)

    for probe in cp.program.probes:
        rewrite_children(probe, replace)


def expand(call: nodes.Call, diags: Diagnostics) -> nodes.Expr:
    """The expression a container_of call stands for (an empty block after an error)."""
    span = call.span
    if len(call.args) != 3:
        diags.error(f"{NAME}() takes 3 arguments ({len(call.args)} provided)", span,
                    f"e.g. {NAME}($ptr, struct task_struct, tasks)")
        return nodes.BlockExpr([], None, NAME, span=span)
    ptr, type_arg, member = call.args
    of = _type(type_arg, diags)
    path = _member_path(member, diags)
    if of is None or path is None:
        return nodes.BlockExpr([], None, NAME, span=span)
    address = nodes.Cast(nodes.TypeName("uint64", span=span), ptr, span=span)
    offset = nodes.Offsetof(of, path, span=span)
    pointer = nodes.TypeName("typeof", 1, None, of, span=span)
    return nodes.Cast(pointer, nodes.Binary("-", address, offset, span=span), span=span)


def _type(arg: nodes.Expr, diags: Diagnostics) -> nodes.Typeof | None:
    if isinstance(arg, nodes.Typeof):
        return arg
    if isinstance(arg, nodes.Identifier):  # a typedef name
        return nodes.Typeof(nodes.TypeName(arg.name, span=arg.span), span=arg.span)
    diags.error(f"{NAME}(): the second argument must be a type", arg.span,
                "e.g. struct task_struct")
    return None


def _member_path(arg: nodes.Expr, diags: Diagnostics) -> list[str] | None:
    names: list[str] = []
    node = arg
    while isinstance(node, nodes.FieldAccess) and not node.arrow:
        names.append(node.field_name)
        node = node.expr
    if isinstance(node, nodes.Identifier):
        return [node.name, *reversed(names)]
    diags.error(f"{NAME}(): the third argument must be a member name", arg.span,
                "e.g. tasks, or a path such as a.b")
    return None
