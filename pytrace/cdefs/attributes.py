"""GNU `__attribute__((...))` in preprocessed C, made into what pycparser parses.

The preprocessor spells every attribute `__pytrace_attribute__(...)` (ATTRIBUTE_MACRO).
The layout-changing ones become zero-length marker members that
`declarations.py` reads and drops:

- `packed` on a struct or union (`struct __attribute__((packed)) s {...}` or
  `struct s {...} __attribute__((packed))`): PACKED_MEMBER;
- `packed` / `aligned(N)` on a member: a marker just before that member
  (`__pytrace_member_packed__`, `__pytrace_member_aligned_N__`);
- `aligned(N)` after a struct's body: a marker after its last member.

Every other attribute is removed.
"""

from __future__ import annotations

import re

ATTRIBUTE_MACRO = "__pytrace_attribute__"
PACKED_MEMBER = "__pytrace_packed__"
MEMBER_PACKED = "__pytrace_member_packed__"
MEMBER_ALIGNED = re.compile(r"__pytrace_member_aligned_(\d+)__")
_START = re.compile(rf"\b{ATTRIBUTE_MACRO}\s*\(")
_PACKED = re.compile(r"\b(?:__)?packed(?:__)?\b")
_ALIGNED = re.compile(r"\b(?:__)?aligned(?:__)?\s*\(\s*(\d+)\s*\)")
_TAG_BEFORE = re.compile(r"\b(?:struct|union)\s*$")
_TAG_AFTER = re.compile(r"\s*(?:[A-Za-z_]\w*\s*)?\{")


def _marker(name: str) -> str:
    return f" char {name}[0]; "


def _close(text: str, start: int) -> int:
    """Index just past the `)` matching the `(` at start - 1."""
    depth, i = 1, start
    while i < len(text) and depth:
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        i += 1
    return i


def _markers(attr: str) -> list[str]:
    names = [MEMBER_PACKED] if _PACKED.search(attr) else []
    return names + [f"__pytrace_member_aligned_{n}__" for n in _ALIGNED.findall(attr)]


def _member_start(before: str) -> int | None:
    """Where the member declaration being written starts (None outside a body)."""
    if before.count("{") <= before.count("}"):
        return None
    return max(before.rfind(";"), before.rfind("{")) + 1


def rewrite_attributes(text: str) -> str:
    """text with the layout attributes as marker members and the others removed."""
    if ATTRIBUTE_MACRO not in text:
        return text
    out = ""
    pos = 0
    while (m := _START.search(text, pos)) is not None:
        end = _close(text, m.end())
        out += text[pos:m.start()]
        pos = end
        marks = _markers(text[m.end():end])
        if not marks:
            continue
        head = out.rstrip()
        if head.endswith("}"):  # after a struct's body
            names = [PACKED_MEMBER if n == MEMBER_PACKED else n for n in marks]
            out = head[:-1] + "".join(map(_marker, names)) + "} "
        elif _TAG_BEFORE.search(head) and (after := _TAG_AFTER.match(text, pos)):
            out += text[pos:after.end()]  # `struct __attribute__((packed)) s {`
            out += "".join(_marker(PACKED_MEMBER) for n in marks if n == MEMBER_PACKED)
            pos = after.end()
        elif (start := _member_start(out)) is not None:
            out = out[:start] + "".join(map(_marker, marks)) + out[start:]
    return out + text[pos:]
