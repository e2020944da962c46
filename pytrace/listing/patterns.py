"""How a `-l` search names probe types and what each kind matches against.

bpftrace's rules: a search is split at ',' into patterns; a pattern without ':' means
`*:PATTERN` (any probe type); the part before the first ':' is the probe type (a
wildcard expands over the kernel probe types, plus uprobe/usdt when a pid or an existing
binary scopes the search); the rest is matched against each kind's own names.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from pytrace.frozen import frozen
from pytrace.probes.base import has_wildcard, split_attach_point

FULL_SEARCH = "*:*"

# canonical name -> spellings (the first is the canonical one)
SPELLINGS: dict[str, tuple[str, ...]] = {
    "tracepoint": ("tracepoint", "t"), "rawtracepoint": ("rawtracepoint", "rt"),
    "software": ("software", "s"), "hardware": ("hardware", "h"),
    "interval": ("interval", "i"), "profile": ("profile", "p"), "iter": ("iter", "it"),
    "kprobe": ("kprobe", "k"), "kretprobe": ("kretprobe", "kr"),
    "fentry": ("fentry", "f", "kfunc"), "fexit": ("fexit", "fr", "kretfunc"),
    "uprobe": ("uprobe", "u"), "uretprobe": ("uretprobe", "ur"), "usdt": ("usdt", "U"),
    "watchpoint": ("watchpoint", "w"), "asyncwatchpoint": ("asyncwatchpoint", "aw"),
    "BEGIN": ("BEGIN", "begin"), "END": ("END", "end"), "self": ("self",),
}
CANONICAL = {s: k for k, spellings in SPELLINGS.items() for s in spellings}
# What a wildcarded probe type expands to (bpftrace's kernel list), then the user kinds.
KERNEL_KINDS = ("fentry", "hardware", "iter", "kprobe", "rawtracepoint", "software", "tracepoint")
USER_KINDS = ("uprobe", "usdt")
TYPE_WORDS = ("struct", "union", "enum")


@frozen
class Pattern:
    """One listing pattern: its probe type part, the parts after it and the suffix
    (everything after the first ':')."""

    kind: str
    parts: tuple[str, ...]
    suffix: str

    @property
    def target(self) -> str:
        """The binary / category part for kinds that take one ('*' when absent)."""
        return self.parts[0] if len(self.parts) > 1 else "*"

    @property
    def func(self) -> str:
        """What is searched within the target."""
        if len(self.parts) > 1:
            return ":".join(self.parts[1:]) or "*"
        return self.parts[0] if self.parts and self.parts[0] else "*"


@dataclass(slots=True)
class ListContext:
    """What every lister may consult: -v, the -p pid, and warnings to print once."""

    verbose: bool = False
    pid: int | None = None
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


def split_search(search: str) -> list[str]:
    """The comma-separated patterns of a search, whitespace normalised."""
    return [" ".join(p.split()) for p in search.split(",")] if search else [FULL_SEARCH]


def is_type_pattern(pattern: str) -> bool:
    words = pattern.split(None, 1)
    return len(words) == 2 and words[0] in TYPE_WORDS


def parse_pattern(pattern: str) -> Pattern:
    if not pattern:
        pattern = FULL_SEARCH
    elif ":" not in pattern:
        pattern = "*:" + pattern
    head, _, suffix = pattern.partition(":")
    parts = tuple(split_attach_point(suffix))  # a quoted part keeps its ':'s
    return Pattern(head, parts, suffix or "*")


def expand_kinds(p: Pattern, pid: int | None) -> tuple[list[str], bool]:
    """(canonical kinds to list, explicit): explicit when one type was named exactly."""
    if not has_wildcard(p.kind):
        kind = CANONICAL.get(p.kind)
        return ([kind] if kind else []), True
    scoped = pid is not None or (len(p.parts) > 1 and not has_wildcard(p.parts[0])
                                 and os.path.exists(p.parts[0]))
    kinds = [k for k in KERNEL_KINDS if fnmatch.fnmatchcase(k, p.kind)]
    if scoped:
        kinds += [k for k in USER_KINDS if fnmatch.fnmatchcase(k, p.kind)]
    return sorted(kinds), False


def matching(glob: str, names: Iterable[str]) -> list[str]:
    """Names matching a shell-style glob ('*' spans ':'), sorted and unique."""
    return sorted({n for n in names if fnmatch.fnmatchcase(n, glob)})
