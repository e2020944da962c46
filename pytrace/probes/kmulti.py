"""The shape shared by the compiler and the runtime of one kprobe_multi program for
many kernel functions (codegen/kmulti.py, runtime/kmulti.py): its attach type, which
targets may share it, and its address map's name and value layout. No llvmlite here."""

from __future__ import annotations

from pytrace.probes.target import ProbeTarget

BPF_TRACE_KPROBE_MULTI = 42
BPF_F_KPROBE_MULTI_RETURN = 1
KINDS = frozenset({"kprobe", "kretprobe"})
MAP_PREFIX = "__kmulti_"
FUNC_BYTES = 64  # the `func` string (StrT(64))
VALUE_SIZE = 8 + FUNC_BYTES  # u64 probe name index, then the function's name


def groupable(t: ProbeTarget) -> bool:
    """Whether a target may share a kprobe_multi program (no offset, no module)."""
    return t.kind in KINDS and not int(t.attach.get("offset", 0)) and "module" not in t.attach


def map_name(index: int) -> str:
    """The address -> (probe index, func) map of program `index`."""
    return f"{MAP_PREFIX}{index}"


def value_bytes(probe_index: int, func: str) -> bytes:
    """The map value of one function."""
    return probe_index.to_bytes(8, "little") + func.encode()[:FUNC_BYTES - 1].ljust(FUNC_BYTES, b"\0")
