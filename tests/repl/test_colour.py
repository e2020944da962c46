"""Tests for pytrace.repl.colour: colour only on a terminal, and coloured diagnostics
that are the CLI's text exactly once the escapes are removed."""

from __future__ import annotations

import io
import re

from pytrace.repl.colour import colour_diagnostics, colour_wanted

ANSI = re.compile(r"\x1b\[[0-9;]*m")
TEXT = ("stdin:1:15-21: ERROR: Unknown identifier: 'nosuch'\n"
        "BEGIN { print(nosuch); }\n"
        "              ~~~~~~\n"
        "HINT: did you mean 'nsecs'?\n"
        "ERROR: no location here\n"
        "stdin:2:1-3: WARNING: unused\n")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_without_no_color() -> None:
    assert colour_wanted(Tty(), {"TERM": "xterm"})
    assert not colour_wanted(io.StringIO(), {"TERM": "xterm"})
    assert not colour_wanted(Tty(), {"TERM": "xterm", "NO_COLOR": "1"})
    assert not colour_wanted(Tty(), {"TERM": "dumb"})


def test_coloured_diagnostics_keep_every_character() -> None:
    out = colour_diagnostics(TEXT)
    assert out != TEXT and ANSI.sub("", out) == TEXT


def test_severity_span_and_marks_are_styled() -> None:
    out = colour_diagnostics(TEXT)
    assert "\x1b[1;31mERROR" in out or "\x1b[31;1mERROR" in out  # bold red severity
    assert re.search(r"\x1b\[[0-9;]*31[0-9;]*mnosuch\x1b", out)  # the span in the line
    assert re.search(r"\x1b\[[0-9;]*32[0-9;]*m +~~~~~~", out)  # the marks in green
    assert re.search(r"\x1b\[[0-9;]*33[0-9;]*mWARNING", out)
    assert re.search(r"\x1b\[[0-9;]*36[0-9;]*mHINT", out)
