"""The common interface of probe kinds: ProbeError, the parse context and helpers."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import field
from typing import TYPE_CHECKING

from pytrace.frozen import frozen

if TYPE_CHECKING:  # listings that never expand a probe do not load the resources model
    from pytrace.probes.target import ProbeTarget

U64_MAX = (1 << 64) - 1  # addresses and offsets
MAX_PERIOD = (1 << 63) - 1  # the kernel refuses a perf event period with the top bit set


def split_attach_point(text: str) -> list[str]:
    """An attach point's ':'-separated parts; a double-quoted stretch (`"/path with
    space"`, `"ns::f"`) keeps its ':' and loses its quotes."""
    parts: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


class ProbeError(Exception):
    """An attach point that cannot be expanded: one message and optional hints."""

    def __init__(self, message: str, *hints: str) -> None:
        super().__init__(message)
        self.message = message
        self.hints = hints


class NoMatchError(ProbeError):
    """A wildcard attach point that matches nothing: tolerated beside attach points of
    the same probe that do match (`kprobe:f, kprobe:f.constprop.*`), an error alone."""


@frozen
class ProbeContext:
    """What a kind parser may consult: the tracefs mount, the target pid (-p) and
    --unsafe; parsers append unlocated warnings (a wildcard match skipped, say) to
    `warnings`, which the probes pass reports."""

    tracefs: str = "/sys/kernel/tracing"
    pid: int | None = None
    unsafe: bool = False
    warnings: list[str] = field(default_factory=list)


# A kind parser: (kind spelling as written, parts after the kind, context) -> targets.
KindParser = Callable[[str, list[str], ProbeContext], list["ProbeTarget"]]


@frozen
class ProbeKind:
    """One probe kind: its canonical name, every spelling and its attach point parser."""

    name: str
    spellings: tuple[str, ...]
    parse: KindParser


def has_wildcard(text: str) -> bool:
    return any(c in text for c in "*?[")


def match(pattern: str, names: Iterable[str]) -> list[str]:
    """Names matching a shell-style pattern, sorted."""
    return sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))


def suggest(word: str, names: Iterable[str], n: int = 3) -> tuple[str, ...]:
    """A HINT suggesting near names, or nothing when none is close."""
    import difflib

    close = difflib.get_close_matches(word, list(names), n=n, cutoff=0.6)
    if not close:
        return ()
    return ("did you mean: " + ", ".join(close) + "?",)


def split_offset(text: str) -> tuple[str, int]:
    """`func+0x10` -> ('func', 16); `func` -> ('func', 0)."""
    if "+" not in text:
        return text, 0
    func, _, off = text.partition("+")
    try:
        value = int(off, 0)
    except ValueError:
        value = -1
    if not 0 <= value <= U64_MAX:
        raise ProbeError(f"invalid offset '{off}' in '{text}'")
    return func, value


def parse_count(text: str, what: str) -> int:
    """A positive integer from attach point text (decimal, hex, 1_000, 1e6, 10k)."""
    t = text.strip().replace("_", "")
    mult = 1
    if t[-1:].lower() in ("k", "m") and t[:-1].isdigit():
        mult = 1000 if t[-1].lower() == "k" else 1000000
        t = t[:-1]
    try:
        value = int(t, 0)
    except ValueError:
        try:
            f = float(t)
        except ValueError:
            raise ProbeError(f"invalid {what}: '{text}' is not a number") from None
        if not f.is_integer() or "e" not in t.lower():
            raise ProbeError(f"invalid {what}: '{text}' is not an integer") from None
        value = int(f)
    value *= mult
    if value <= 0:
        raise ProbeError(f"invalid {what}: {value} must be greater than 0")
    if value > MAX_PERIOD:
        raise ProbeError(f"invalid {what}: {value} is too large (at most {MAX_PERIOD})")
    return value


def expect_parts(kind: str, parts: list[str], lo: int, hi: int, usage: str) -> None:
    if not lo <= len(parts) <= hi or any(p == "" for p in parts[:lo]):
        raise ProbeError(f"invalid {kind} attach point", f"expected {usage}")
