"""Human-readable dumps of the compiler's stages for `-d ast` and `-d types`."""

from __future__ import annotations

import dataclasses

from pytrace import nodes
from pytrace.passes.context import CheckedProgram


def _fmt(node: object, indent: int, out: list[str], types: dict[nodes.Node, object] | None) -> None:
    pad = "  " * indent
    if isinstance(node, nodes.Node):
        label = type(node).__name__
        scalars = []
        children: list[tuple[str, object]] = []
        for f in dataclasses.fields(node):
            if f.name == "span":
                continue
            v = getattr(node, f.name)
            if isinstance(v, (nodes.Node, list)) and v:
                children.append((f.name, v))
            elif not isinstance(v, (nodes.Node, list)):
                scalars.append(f"{f.name}={v!r}")
        extra = f" :: {types[node]}" if types is not None and node in types else ""
        out.append(f"{pad}{label}({', '.join(scalars)}){extra}")
        for _name, child in children:
            _fmt(child, indent + 1, out, types)
    elif isinstance(node, list):
        for item in node:
            _fmt(item, indent, out, types)
    elif isinstance(node, tuple):
        for item in node:
            _fmt(item, indent, out, types)


def dump_ast(program: nodes.Program) -> str:
    out: list[str] = []
    _fmt(program, 0, out, None)
    return "\n".join(out) + "\n"


def dump_types(checked: CheckedProgram) -> str:
    out: list[str] = []
    _fmt(checked.program, 0, out, checked.types)  # type: ignore[arg-type]
    for name, info in sorted(checked.maps.items()):
        out.append(f"map {name}: key={info.key_type} value={info.value_type}")
    return "\n".join(out) + "\n"
