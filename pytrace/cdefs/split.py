"""Splitting a program into its C preamble and the rest, keeping every line in place.

The preamble is what comes before the first probe, config block or other bpftrace
item: preprocessor directives (with `\\` continuations), `struct`/`union`/`enum`/
`typedef` definitions (bpftrace allows `struct S { ... }` without the final `;`),
comments and blank lines. Inside an `#if` group everything up to its `#endif` is
preamble, whatever it contains. Both halves keep the original length and newlines:
the other half's characters are blanked, so line and column numbers stay true.
"""

from __future__ import annotations

import re

from pytrace.frozen import frozen

_C_WORDS = re.compile(r"(?:struct|union|enum|typedef)(?![\w:])")
_DIRECTIVE = re.compile(r"#\s*(\w*)")
_OPEN = ("if", "ifdef", "ifndef")


@frozen
class Split:
    c_text: str  # the preamble (with any missing `;` added), everything after it blanked
    body: str  # the program, the preamble blanked
    end: int  # offset where the bpftrace part starts

    @property
    def has_preamble(self) -> bool:
        return bool(self.c_text.strip())


def blank(text: str) -> str:
    """Spaces for every character but newlines."""
    return re.sub(r"[^\n]", " ", text)


def _skip_space(text: str, i: int) -> int:
    """Past whitespace and comments."""
    n = len(text)
    while i < n:
        if text[i].isspace():
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            break
    return i


def _line_end(text: str, i: int) -> int:
    """End of a directive line (after its newline), following `\\` continuations."""
    while True:
        j = text.find("\n", i)
        if j < 0:
            return len(text)
        if j > 0 and text[j - 1] == "\\":
            i = j + 1
            continue
        return j + 1


# `} __packed;`, `} __aligned(8);`: an attribute spelled by a macro, then the `;`.
_ATTRIBUTE_MACRO_TAIL = re.compile(r"[A-Za-z_]\w*(?:[ \t]*\([^;{}\n]*\))?[ \t]*;")


def _definition_end(text: str, i: int) -> int | None:
    """End of a C definition starting at i, or None when it is not one."""
    depth, n, j = 0, len(text), i
    while j < n:
        c = text[j]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                k = _skip_space(text, j + 1)
                if k < n and text[k] == ";":
                    return k + 1
                if text.startswith("typedef", i) or text.startswith("__attribute__", k):
                    j += 1  # `} name;` of a typedef, `} __attribute__((packed));`
                    continue
                tail = _ATTRIBUTE_MACRO_TAIL.match(text, k)
                return tail.end() if tail else j + 1  # `} __packed;` (a header's macro)
        elif c == ";" and depth == 0:
            return j + 1
        elif c == "/" and text.startswith(("//", "/*"), j):
            j = _skip_space(text, j)
            continue
        j += 1
    return None


def _conditional_end(text: str, i: int) -> int:
    """From an #if/#ifdef/#ifndef line to past its matching #endif."""
    depth, n = 0, len(text)
    while i < n:
        i = _skip_space(text, i)
        if i >= n:
            break
        end = _line_end(text, i)
        m = _DIRECTIVE.match(text, i)
        if m:
            if m.group(1) in _OPEN:
                depth += 1
            elif m.group(1) == "endif":
                depth -= 1
                if depth == 0:
                    return end
        i = end
    return n


def scan_preamble(text: str) -> tuple[int, list[int]]:
    """(offset of the first character of the bpftrace part, offsets right after each
    definition's closing brace that has no `;`)."""
    i, missing = 0, list[int]()
    if text.startswith("#!"):
        i = _line_end(text, 0)
    last = i
    while True:
        i = _skip_space(text, i)
        if i >= len(text):
            return len(text), missing
        m = _DIRECTIVE.match(text, i)
        if text[i] == "#" and m is not None:
            i = _conditional_end(text, i) if m.group(1) in _OPEN else _line_end(text, i)
            last = i
            continue
        if _C_WORDS.match(text, i):
            end = _definition_end(text, i)
            if end is not None:
                if text[end - 1] != ";":
                    missing.append(end)
                i = last = end
                continue
        return last, missing


def split_program(text: str) -> Split:
    end, missing = scan_preamble(text)
    start = _line_end(text, 0) if text.startswith("#!") else 0
    pre, prev = [blank(text[:start])], start
    for pos in missing:  # bpftrace's `struct S { ... }` needs its `;` for a C parser
        pre.append(text[prev:pos] + ";")
        prev = pos
    pre.append(text[prev:end])
    c_text = "".join(pre) + blank(text[end:])
    body = text[:start] + blank(text[start:end]) + text[end:]
    return Split(c_text, body, end)
