"""In-place AST rewriting shared by the passes that replace nodes (macro expansion)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields

from pytrace import nodes

# Returns the replacement of a node (which is then not visited further), or None to keep
# the node and visit its children.
Replacer = Callable[[nodes.Node], nodes.Node | None]


def _visit(node: nodes.Node, fn: Replacer) -> nodes.Node:
    new = fn(node)
    if new is not None:
        return new
    rewrite_children(node, fn)
    return node


def _item(value: object, fn: Replacer) -> object:
    if isinstance(value, nodes.Node):
        return _visit(value, fn)
    if isinstance(value, tuple):
        return tuple(_item(v, fn) for v in value)
    return value


def rewrite_children(node: nodes.Node, fn: Replacer) -> None:
    """Replace every child of `node` (lists and tuples of children too) by fn's answer."""
    for f in fields(node):  # type: ignore[arg-type]
        value = getattr(node, f.name, None)
        if isinstance(value, nodes.Node):
            setattr(node, f.name, _visit(value, fn))
        elif isinstance(value, list):
            value[:] = [_item(v, fn) for v in value]
        elif isinstance(value, tuple) and any(isinstance(v, nodes.Node) for v in value):
            setattr(node, f.name, _item(value, fn))
