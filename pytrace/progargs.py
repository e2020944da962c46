"""Program arguments after the program itself: positional parameters ($1, $2 ...) and
named parameters (`-- --name=value`, `--flag`) that getopt() reads.

Positional parameters may come before or after a `--`; named parameters only after it.
The CLI (and the Python API) pass the words that follow the program here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class ProgramArgError(ValueError):
    """A malformed named parameter (one message line, bpftrace's words)."""


@dataclass(slots=True)
class ProgramArgs:
    positional: list[str] = field(default_factory=list)
    named: dict[str, str] = field(default_factory=dict)


def split_program_args(words: list[str]) -> ProgramArgs:
    """Split the words after the program: `p1 -- --aa=20 --bb p2` gives positional
    ['p1', 'p2'] and named {'aa': '20', 'bb': ''} (a flag without `=` has the value '')."""
    out = ProgramArgs()
    after_dashes = False
    for word in words:
        if word == "--" and not after_dashes:
            after_dashes = True
            continue
        if after_dashes and word.startswith("--") and len(word) > 2:
            name, eq, value = word[2:].partition("=")
            if not name:
                raise ProgramArgError(f"Invalid named program argument: {word}")
            if name in out.named:
                raise ProgramArgError(f"Duplicate named program argument: --{name}")
            out.named[name] = value if eq else ""
            continue
        out.positional.append(word)
    return out
