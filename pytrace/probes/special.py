"""Probe kinds without a search step: BEGIN/END, kprobe/kretprobe, fentry/fexit (their
`bpf` variant on running programs is probes/bpfprog.py), watchpoint (asyncwatchpoint,
the FUNC+argN form and iter are refused clearly)."""

from __future__ import annotations

from pytrace.probes.base import (
    U64_MAX,
    NoMatchError,
    ProbeContext,
    ProbeError,
    expect_parts,
    has_wildcard,
    split_offset,
)
from pytrace.probes.bpfprog import bpf_targets, is_bpf_variant
from pytrace.probes.kernelfuncs import matching
from pytrace.probes.target import ProbeTarget
from pytrace.resources import ProgType


def parse_begin(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    if parts:
        raise ProbeError(f"{spelling.upper()} probes take no arguments")
    return [ProbeTarget("BEGIN", "BEGIN", ProgType.RAW_TRACEPOINT)]


def parse_end(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    if parts:
        raise ProbeError(f"{spelling.upper()} probes take no arguments")
    return [ProbeTarget("END", "END", ProgType.RAW_TRACEPOINT)]


SELF_SIGNALS = ("SIGUSR1",)


def parse_self(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    """self:signal:SIGUSR1 — runs when the pytrace process receives that signal."""
    expect_parts("self", parts, 2, 2, "self:signal:SIGUSR1")
    if parts[0] != "signal":
        raise ProbeError(f"Invalid self probe type: {parts[0]}", "expected self:signal:SIGUSR1")
    if parts[1] not in SELF_SIGNALS:
        raise ProbeError(f"Unsupported signal: {parts[1]}",
                         "self:signal probes take " + ", ".join(SELF_SIGNALS))
    return [ProbeTarget("self", f"self:signal:{parts[1]}", ProgType.RAW_TRACEPOINT,
                        {"signal": parts[1]})]


def _named(kind: str, parts: list[str]) -> str:
    if len(parts) != 1 or not parts[0] or not parts[0].replace("_", "a").isalnum():
        raise ProbeError(f"invalid {kind} probe", f"expected {kind}:NAME, NAME an identifier")
    return parts[0]


def parse_test(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    """test:NAME — run once in --test mode (a non-zero return is a failure)."""
    name = _named("test", parts)
    return [ProbeTarget("test", f"test:{name}", ProgType.RAW_TRACEPOINT, {"name": name})]


def parse_bench(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    """bench:NAME — run repeatedly and timed in --bench mode (an XDP test run repeats)."""
    name = _named("bench", parts)
    return [ProbeTarget("bench", f"bench:{name}", ProgType.XDP, {"name": name})]


def _expand(kind: str, parts: list[str], func: str, ctx: ProbeContext) -> list[tuple[str, str]]:
    """(function, module) of each kernel function a name or wildcard stands for; a
    wildcard matching nothing is an error."""
    module = parts[0] if len(parts) == 2 else None
    if not has_wildcard(func) and not (module and has_wildcard(module)):
        return [(func, module or "")]
    found = matching(func, module, ctx.tracefs)
    if not found:
        where = f"{module}:" if module else ""
        raise NoMatchError(f"No kernel function matches {kind}:{where}{func}")
    return found


def _kprobe(kind: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    expect_parts(kind, parts, 1, 2, f"{kind}:FUNC[+OFFSET] or {kind}:MODULE:FUNC")
    text = parts[-1]
    func, offset = split_offset(text)
    if kind == "kretprobe" and offset:
        raise ProbeError("kretprobe does not take an offset")
    if not func:
        raise ProbeError(f"invalid {kind} attach point", f"expected {kind}:FUNC[+OFFSET]")
    if offset and has_wildcard(func):
        raise ProbeError(f"{kind} wildcards cannot take an offset: '{text}'")
    out = []
    for fn, mod in _expand(kind, parts, func, ctx):
        spelled = [parts[0]] if len(parts) == 2 and not has_wildcard(parts[0]) else \
            ([mod] if len(parts) == 2 and mod else [])
        name = f"{kind}:{':'.join(spelled + [fn])}" + (f"+{offset}" if offset else "")
        attach: dict[str, str | int] = {"func": fn, "offset": offset}
        if spelled:
            attach["module"] = spelled[0]
        out.append(ProbeTarget(kind, name, ProgType.KPROBE, attach, func=fn))
    return out


def parse_kprobe(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    return _kprobe("kprobe", parts, ctx)


def parse_kretprobe(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    return _kprobe("kretprobe", parts, ctx)


def _btf_function(kind: str, fn: str, module: str, wild: bool) -> tuple[str, int] | None:
    """(BTF blob, FUNC id) of an fentry/fexit target in the running kernel's BTF (also
    under BPFTRACE_BTF: the kernel attaches by its own ids); None when BTF lacks it.
    Wildcard matches look the name up in the blob's whole function table (one walk)."""
    from pytrace.btf import btf_file, ids, running_btf

    if running_btf() is None:
        raise ProbeError(f"{kind} probes need kernel BTF, and this kernel has none "
                         "(/sys/kernel/btf/vmlinux is missing)")
    if wild:
        blob = module or "vmlinux"
        tid = ids.function_ids(blob).get(fn)
        return (blob, tid) if tid is not None else None
    ref = ids.function(fn, module)
    if ref is None and btf_file() is not None:
        raise ProbeError(ids.missing(f"function {module + ':' if module else ''}{fn}"))
    return (ref.module, ref.id) if ref is not None else None


def _fentry(kind: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    if is_bpf_variant(parts):
        return bpf_targets(kind, parts[1:])
    expect_parts(kind, parts, 1, 2, f"{kind}:FUNC or {kind}:MODULE:FUNC")
    if not parts[-1] or (len(parts) == 2 and not parts[0]):
        raise ProbeError(f"invalid {kind} attach point", f"expected {kind}:FUNC or "
                         f"{kind}:MODULE:FUNC")
    wild = has_wildcard(parts[-1]) or (len(parts) == 2 and has_wildcard(parts[0]))
    out = []
    for fn, mod in _expand(kind, parts, parts[-1], ctx):
        spelled = [parts[0]] if len(parts) == 2 and not has_wildcard(parts[0]) else \
            ([mod] if len(parts) == 2 and mod else [])
        found = _btf_function(kind, fn, spelled[0] if spelled else mod, wild)
        if found is None:
            if wild:
                continue  # a traceable function without BTF: fentry cannot attach to it
            where = spelled[0] if spelled else "vmlinux"
            raise ProbeError(f"No BTF found for {where}:{fn}",
                             f"{kind} probes attach to functions that kernel BTF describes")
        attach: dict[str, str | int] = {"func": fn, "btf_id": found[1]}
        if found[0] != "vmlinux":
            attach["btf_module"] = found[0]
        if spelled:
            attach["module"] = spelled[0]
        out.append(ProbeTarget(kind, f"{kind}:{':'.join(spelled + [fn])}", ProgType.TRACING,
                               attach, func=fn))
    if not out:
        where = f"{parts[0]}:" if len(parts) == 2 else ""
        raise NoMatchError(f"No kernel function with BTF matches {kind}:{where}{parts[-1]}")
    return out


def parse_fentry(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    return _fentry("fentry", parts, ctx)


def parse_fexit(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    return _fentry("fexit", parts, ctx)


WATCH_LENGTHS = (1, 2, 4, 8)
WATCH_MODES = {"r": 1, "w": 2, "rw": 3, "x": 4}  # HW_BREAKPOINT_R/W/RW/X
WATCH_USAGE = "watchpoint:ADDRESS:LENGTH:MODE, e.g. watchpoint:0x10000000:8:rw"


def _watch_address(text: str) -> int:
    if "+" in text:
        raise ProbeError(f"watchpoints on function arguments ('{text}') are not supported by "
                         "pytrace", "give the address to watch: " + WATCH_USAGE)
    try:
        addr = int(text, 0)
    except ValueError:
        raise ProbeError(f"invalid watchpoint address '{text}'", "expected " + WATCH_USAGE) \
            from None
    if addr <= 0:
        raise ProbeError("watchpoint address must be greater than 0")
    if addr > U64_MAX:
        raise ProbeError(f"invalid watchpoint address '{text}'", "expected " + WATCH_USAGE)
    return addr


def _watch_length(text: str) -> int:
    try:
        length = int(text, 0)
    except ValueError:
        length = 0
    if length not in WATCH_LENGTHS:
        raise ProbeError("watchpoint length must be one of (1,2,4,8)")
    return length


def _watch_mode(text: str) -> str:
    if any(c not in "rwx" for c in text) or not text:
        raise ProbeError(f"invalid watchpoint mode: {text}", "modes are r, w, x and rw")
    if len(set(text)) != len(text):
        raise ProbeError("watchpoint modes may not be duplicated")
    mode = "".join(sorted(text, key="rwx".index))
    if mode not in WATCH_MODES:
        raise ProbeError(f"invalid watchpoint mode: {mode}", "modes are r, w, x and rw")
    return mode


def parse_watchpoint(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    """watchpoint:ADDR:LEN:MODE -> one PERF_TYPE_BREAKPOINT target (bp_type in attach)."""
    if len(parts) == 4:
        raise ProbeError(f"watchpoints on function arguments ('{':'.join(parts[:2])}') are not "
                         "supported by pytrace", "give the address to watch: " + WATCH_USAGE)
    expect_parts("watchpoint", parts, 3, 3, WATCH_USAGE)
    addr = _watch_address(parts[0].strip())
    length = _watch_length(parts[1].strip())
    mode = _watch_mode(parts[2].strip())
    attach: dict[str, str | int] = {"address": addr, "length": length,
                                    "bp_type": WATCH_MODES[mode], "mode": mode}
    if ctx.pid is not None:
        attach["pid"] = ctx.pid
    name = f"watchpoint:{addr}:{length}:{mode}"  # bpftrace names it with a decimal address
    return [ProbeTarget("watchpoint", name, ProgType.PERF_EVENT, attach, user_pointers=True)]


def parse_asyncwatchpoint(spelling: str, parts: list[str],
                          ctx: ProbeContext) -> list[ProbeTarget]:
    raise ProbeError("asyncwatchpoint probes are not supported by pytrace",
                     "watch a fixed address instead: " + WATCH_USAGE)

