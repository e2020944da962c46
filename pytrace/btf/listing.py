"""Type listings for `-l 'struct task_*'` and `-lv 'struct task_struct'`, as bpftrace prints.

Without -v: one `struct NAME` / `union NAME` / `enum NAME` line per matching type, sorted.
With -v: each definition as `MODULE: struct NAME {` ... `};` followed by a blank line
(the module is `vmlinux` for the kernel's own types).
"""

from __future__ import annotations

from pytrace.btf import format as F
from pytrace.btf.cdecl import definition

TYPE_WORDS = ("struct", "union", "enum")
# bpftrace lists 32-bit enums only (not BTF's enum64 kind).
LISTED_KINDS = (F.STRUCT, F.UNION, F.ENUM)


def is_type_pattern(pattern: str) -> bool:
    """True for the patterns that name types rather than probes (`struct x*`)."""
    words = pattern.split(None, 1)
    return len(words) == 2 and words[0] in TYPE_WORDS


def type_listing(pattern: str, verbose: bool) -> list[str]:
    """The lines bpftrace prints for a type pattern (none when the kernel has no BTF)."""
    from pytrace.btf import kernel_btf

    btf = kernel_btf()
    if btf is None or not is_type_pattern(pattern):
        return []
    found = btf.names(pattern, LISTED_KINDS)
    if not verbose:
        names: list[str] = []
        for shown, _ in found:
            if not names or names[-1] != shown:
                names.append(shown)
        return names
    lines: list[str] = []
    for _, ref in found:
        text = f"{ref.module}: " + definition(ref.btf, ref.id)
        lines.extend(text.split("\n"))
        lines.append("")
    return lines
