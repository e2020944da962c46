"""The probes registry: every attach point spelling -> the parser of its kind.

`expand(raw, ctx)` turns one AttachPoint text into ProbeTargets (ProbeError on bad
input); `list_probes` and `tracepoint_fields` serve `-l` / `-lv`.
"""

from __future__ import annotations

from pytrace.probes import iterator, special, timed, tracepoint
from pytrace.probes.base import (
    KindParser,
    ProbeContext,
    ProbeError,
    ProbeKind,
    split_attach_point,
    suggest,
)
from pytrace.probes.target import ProbeTarget, TpField
from pytrace.probes.tracepoint import list_probes, parse_format, tracepoint_fields


def _uprobes(name: str) -> KindParser:
    """A parser of probes/uprobe.py, imported on first use (ELF reading is 10 ms of
    imports a program without user probes never needs)."""

    def parse(head: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
        from pytrace.probes import uprobe

        parser: KindParser = getattr(uprobe, name)
        return parser(head, parts, ctx)

    return parse


KINDS: tuple[ProbeKind, ...] = (
    ProbeKind("BEGIN", ("BEGIN", "begin"), special.parse_begin),
    ProbeKind("END", ("END", "end"), special.parse_end),
    ProbeKind("self", ("self",), special.parse_self),
    ProbeKind("test", ("test",), special.parse_test),
    ProbeKind("bench", ("bench",), special.parse_bench),
    ProbeKind("tracepoint", ("tracepoint", "t"), tracepoint.parse_tracepoint),
    ProbeKind("rawtracepoint", ("rawtracepoint", "rt"), tracepoint.parse_rawtracepoint),
    ProbeKind("interval", ("interval", "i"), timed.parse_interval),
    ProbeKind("profile", ("profile", "p"), timed.parse_profile),
    ProbeKind("software", ("software", "s"), timed.parse_software),
    ProbeKind("hardware", ("hardware", "h"), timed.parse_hardware),
    ProbeKind("uprobe", ("uprobe", "u"), _uprobes("parse_uprobe")),
    ProbeKind("uretprobe", ("uretprobe", "ur"), _uprobes("parse_uretprobe")),
    ProbeKind("usdt", ("usdt", "U"), _uprobes("parse_usdt")),
    ProbeKind("kprobe", ("kprobe", "k"), special.parse_kprobe),
    ProbeKind("kretprobe", ("kretprobe", "kr"), special.parse_kretprobe),
    ProbeKind("fentry", ("fentry", "f", "kfunc"), special.parse_fentry),
    ProbeKind("fexit", ("fexit", "fr", "kretfunc"), special.parse_fexit),
    ProbeKind("watchpoint", ("watchpoint", "w"), special.parse_watchpoint),
    ProbeKind("asyncwatchpoint", ("asyncwatchpoint", "aw"), special.parse_asyncwatchpoint),
    ProbeKind("iter", ("iter", "it"), iterator.parse_iter),
)

SPELLINGS: dict[str, ProbeKind] = {s: k for k in KINDS for s in k.spellings}


def kind_of(raw: str) -> ProbeKind | None:
    """The probe kind an attach point text names (None when unknown)."""
    return SPELLINGS.get(raw.split(":", 1)[0].strip())


def expand(raw: str, ctx: ProbeContext | None = None) -> list[ProbeTarget]:
    """Expand one attach point into its targets; raises ProbeError with hints."""
    ctx = ctx or ProbeContext()
    text = raw.strip()
    head, *parts = split_attach_point(text)
    kind = SPELLINGS.get(head)
    if kind is None:
        raise ProbeError(f"Invalid probe type: {head}" if parts else f"Invalid probe: {text}",
                         *(suggest(head, SPELLINGS) or ("probe types are: " + ", ".join(
                             k.name for k in KINDS),)))
    return kind.parse(head, parts, ctx)


__all__ = [
    "KINDS",
    "SPELLINGS",
    "ProbeContext",
    "ProbeError",
    "ProbeKind",
    "ProbeTarget",
    "TpField",
    "expand",
    "kind_of",
    "list_probes",
    "parse_format",
    "tracepoint_fields",
]
