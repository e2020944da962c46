"""Generic AST traversal helpers shared by the passes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields

from pytrace import nodes
from pytrace.source import Span


def children(node: nodes.Node) -> Iterator[nodes.Node]:
    """The direct child nodes of a node, in field order."""
    for f in fields(node):  # type: ignore[arg-type]
        value = getattr(node, f.name, None)
        if isinstance(value, nodes.Node):
            yield value
        elif isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, nodes.Node):
                    yield item
                elif isinstance(item, tuple):
                    yield from (x for x in item if isinstance(x, nodes.Node))


def walk(node: nodes.Node) -> Iterator[nodes.Node]:
    """Every node below and including `node`, preorder."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(list(children(n))))


def deepest_span(node: nodes.Node) -> Span | None:
    """The span of the most deeply nested located node (iteratively: this is what a
    "nested too deeply" error points at, when recursion has already failed)."""
    best: tuple[int, Span | None] = (-1, None)
    stack = [(node, 0)]
    while stack:
        n, depth = stack.pop()
        if depth > best[0] and n.span.line > 0:
            best = (depth, n.span)
        stack.extend((c, depth + 1) for c in children(n))
    return best[1]


def probe_roots(probe: nodes.Probe) -> list[nodes.Node]:
    """The predicate (if any) and the body of a probe block."""
    return ([probe.predicate] if probe.predicate is not None else []) + [probe.body]
