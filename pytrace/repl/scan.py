"""Light scanning of the text being typed (no parser: it is usually incomplete).

Where the cursor is (inside a probe body or among attach points), the attach points of
the block being edited, the call the cursor is in, the expression before a `.`/`->`,
and the maps and variables the text already names. Pure functions of strings.
"""

from __future__ import annotations

import re

_STRINGS_COMMENTS = re.compile(r'"(?:[^"\\\n]|\\.)*"?|//[^\n]*|/\*(?:[^*]|\*(?!/))*(?:\*/)?')
_MAPS = re.compile(r"@\w*")
_VARS = re.compile(r"\$[A-Za-z_]\w*")
_CALL = re.compile(r"([A-Za-z_]\w*)\s*$")
_ACCESS = re.compile(r"(\.|->)(\w*)$")
_CAST = re.compile(r"^\(\s*(?:(?:struct|union)\s+)?\w+\s*\*+\s*\)")


def blank_out(text: str) -> str:
    """The text with strings and comments replaced by spaces (offsets kept)."""
    return _STRINGS_COMMENTS.sub(lambda m: " " * len(m.group()), text)


def _depths(code: str) -> tuple[int, int]:
    """(brace depth at the end, offset of the `{` opening the current top-level block
    or -1)."""
    depth, opened = 0, -1
    for i, ch in enumerate(code):
        if ch == "{":
            if depth == 0:
                opened = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
    return depth, opened if depth else -1


def in_code(before: str) -> bool:
    """True inside a probe's braces or predicate (outside them come attach points)."""
    code = blank_out(before)
    depth, _ = _depths(code)
    if depth:
        return True
    top = code[code.rfind("}") + 1:]
    return bool(re.search(r"(?:^|\s)/", top))


def block_attach_points(before: str) -> list[str]:
    """The attach points of the block the cursor is in (or whose predicate it is in)."""
    code = blank_out(before)
    depth, opened = _depths(code)
    head_end = opened if depth else len(code)
    start = code.rfind("}", 0, head_end) + 1
    head = code[start:head_end]
    slash = re.search(r"(?:^|\s)/", head)
    if slash:
        head = head[:slash.start()]
    return [p for p in re.split(r"[\s,]+", head) if p]


def call_at(before: str) -> tuple[str, int] | None:
    """(function name, index of the argument the cursor is in) of the innermost call
    left open before the cursor, else None."""
    code = blank_out(before)
    depth, arg = 0, 0
    for i in range(len(code) - 1, -1, -1):
        ch = code[i]
        if ch in ")]":
            depth += 1
        elif ch in "([":
            if depth == 0:
                if ch == "[":
                    return None
                m = _CALL.search(code[:i])
                return (m.group(1), arg) if m else None
            depth -= 1
        elif ch == "," and depth == 0:
            arg += 1
        elif ch in "{};" and depth == 0:
            return None
    return None


def access_before(before: str) -> tuple[str, str, str] | None:
    """(expression, operator, partial member) when the cursor follows `expr.` or
    `expr->` (`args.fi` gives ('args', '.', 'fi')), else None. The expression is the
    balanced text back to the previous operator or delimiter."""
    code = blank_out(before)
    m = _ACCESS.search(code)
    if m is None:
        return None
    end = m.start()
    i, depth = end, 0
    while i > 0:
        ch = code[i - 1]
        if ch in ")]":
            depth += 1
        elif ch in "([":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and not (ch.isalnum() or ch in "_$@.>" or
                                 (ch == "-" and code[i:i + 1] == ">")):
            break
        i -= 1
    expr = before[i:end].strip()
    cast = _CAST.match(expr)
    if cast and expr[cast.end():].strip():  # `(T *)p->` accesses p: postfix binds first
        expr = expr[cast.end():].strip()
    return (expr, m.group(1), m.group(2)) if expr else None


def typed_maps(text: str) -> set[str]:
    """Map names the text already uses (`@` alone included)."""
    return set(_MAPS.findall(blank_out(text)))


def typed_vars(text: str) -> set[str]:
    """Scratch variables (`$x`) the text already uses."""
    return set(_VARS.findall(blank_out(text)))
