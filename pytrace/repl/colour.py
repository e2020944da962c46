"""Colour in the REPL: whether to use it, and located diagnostics coloured.

`colour_wanted()`: a terminal, NO_COLOR unset and TERM not `dumb`. Without colour the
REPL prints exactly the CLI's text. `colour_diagnostics(text)` styles the text the
compiler rendered (location, severity, the span in the source line, the `~~~` marks,
hints) without changing a character of it: stripped of its escapes it is the input.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.text import Text

_LOCATED = re.compile(r"^(?P<loc>[^\n]*?:\d+:\d+(?:-\d+)?: )(?P<sev>ERROR|WARNING)(?P<rest>: .*)$")
_PLAIN = re.compile(r"^(?P<sev>ERROR|WARNING)(?P<rest>: .*)$")
_MARKS = re.compile(r"^( *)(~+)$")
_SEVERITY = {"ERROR": "bold red", "WARNING": "bold yellow"}


def colour_wanted(stream: TextIO | None = None, env: Mapping[str, str] | None = None) -> bool:
    """Whether the REPL colours its output."""
    import sys

    env = os.environ if env is None else env
    stream = sys.stdout if stream is None else stream
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return tty and not env.get("NO_COLOR") and env.get("TERM") != "dumb"


def _line(text: str, marks: re.Match[str] | None) -> Text:
    """One line of a rendered diagnostic, styled; `marks` is the `~~~` line under it."""
    from rich.text import Text

    if (m := _LOCATED.match(text)) is not None:
        out = Text(m["loc"], style="bold")
        out.append(m["sev"], style=_SEVERITY[m["sev"]])
        out.append(m["rest"], style="bold")
        return out
    if (m := _PLAIN.match(text)) is not None:
        out = Text(m["sev"], style=_SEVERITY[m["sev"]])
        out.append(m["rest"], style="bold")
        return out
    if text.startswith("HINT:"):
        return Text(text, style="cyan")
    if _MARKS.match(text):
        return Text(text, style="bold green")
    out = Text(text)
    if marks is not None:  # the source line: the span in bold red
        start, length = len(marks.group(1)), len(marks.group(2))
        out.stylize("bold red", start, start + length)
    return out


def colour_text(text: str) -> Text:
    """The diagnostics text as a rich Text (same characters)."""
    from rich.text import Text

    lines = text.split("\n")
    out = Text()
    for i, line in enumerate(lines):
        nxt = _MARKS.match(lines[i + 1]) if i + 1 < len(lines) else None
        out.append_text(_line(line, nxt))
        if i < len(lines) - 1:
            out.append("\n")
    return out


def colour_diagnostics(text: str) -> str:
    """`text` with ANSI colours added (every character kept, in order)."""
    from rich.console import Console

    console = Console(force_terminal=True, color_system="standard", highlight=False,
                      soft_wrap=True, emoji=False, markup=False)
    with console.capture() as cap:
        console.print(colour_text(text), end="")
    return cap.get()
