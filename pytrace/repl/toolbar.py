"""The REPL's bottom toolbar: the signature of the builtin being called or completed
(from the builtins registry), a meta command's usage, else the session's status.

`toolbar_text(text, cursor, selected, status)` is pure; the editor calls it on every
redraw with the completion selected in the menu (if any).
"""

from __future__ import annotations

import re

from pytrace.repl.commands import COMMANDS

_WORD = re.compile(r"\w+$")
_WORD_AFTER = re.compile(r"^\w*")
HINT = "Tab complete · → accept suggestion · Esc Enter run · .help"


def builtin_help(name: str) -> str | None:
    """`hist(n[, k]) — log2 histogram of n…` for a builtin name, else None."""
    from pytrace.builtins import REGISTRY
    from pytrace.builtins.signatures import signature, summary

    b = REGISTRY.get(name)
    if b is None:
        return None
    text = summary(b)
    return f"{signature(b)} — {text}" if text else signature(b)


def toolbar_text(text: str, cursor: int, selected: str | None = None,
                 status: str = "") -> str:
    """What the toolbar shows for this input (never empty)."""
    if not text:
        return _status(status)
    before = text[:cursor]
    if before.lstrip().startswith("."):
        info = COMMANDS.get(before.split()[0]) if before.split() else None
        if info is None and selected in COMMANDS:
            info = COMMANDS[selected]
        if info is not None:
            return f"{info.usage} — {info.summary}"
        return _status(status)
    for name in _candidates(text, cursor, selected):
        found = builtin_help(name)
        if found is not None:
            return found
    return _status(status)


def _candidates(text: str, cursor: int, selected: str | None) -> list[str]:
    """Names worth explaining, best first: the menu's selection, the word under the
    cursor, the call the cursor is inside."""
    from pytrace.repl import scan

    out = [selected] if selected else []
    before = text[:cursor]
    if scan.in_code(before):
        w = _WORD.search(before)
        after = _WORD_AFTER.match(text[cursor:])
        if w is not None:
            out.append(w.group() + (after.group() if after else ""))
        call = scan.call_at(before)
        if call is not None:
            out.append(call[0])
    return out


def _status(status: str) -> str:
    return f"{status} · {HINT}" if status else HINT
