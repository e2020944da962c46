"""The preamble pass: #define constants and C definitions recorded (the config block is
the config pass's)."""

from __future__ import annotations

import re

from pytrace import nodes
from pytrace.passes.context import CheckedProgram

_STR_RE = re.compile(r'^"((?:[^"\\]|\\.)*)"$')


def define_value(text: str) -> int | str | None:
    """The constant a #define stands for: an integer or a string literal (None otherwise)."""
    t = text.strip()
    while t.startswith("(") and t.endswith(")"):
        t = t[1:-1].strip()
    m = _STR_RE.match(t)
    if m:
        try:
            return m.group(1).encode("latin-1", "backslashreplace").decode("unicode_escape")
        except (UnicodeDecodeError, UnicodeEncodeError):
            return m.group(1)
    neg = t.startswith("-")
    body = t[1:].strip() if neg else t
    body = body.rstrip("uUlL") or body
    try:
        value = int(body.replace("_", ""), 0)
    except ValueError:
        if re.fullmatch(r"0[0-7]+", body):
            value = int(body, 8)
        else:
            return None
    return -value if neg else value


def run(cp: CheckedProgram) -> None:
    for item in cp.program.preamble:
        if isinstance(item, nodes.Define):
            value = define_value(item.value)
            # Integers are stored normalised so `int(text, 0)` reads them back.
            cp.defines[item.name] = str(value) if isinstance(value, int) else item.value
            if value is not None:
                cp.constants_by_name[item.name] = value
        elif isinstance(item, nodes.CDefinition):
            cp.c_definitions[f"{item.kind} {item.name}" if item.kind != "typedef"
                             else item.name] = item
