"""kprobe_multi links (BPF_TRACE_KPROBE_MULTI, Linux 5.18): one program attached to
many kernel functions at once, and the address map it reads `probe`/`func` from.

codegen/kmulti.py compiles a wide kprobe or kretprobe block as one program whose
ProbeSpec.attach carries 'funcs' (the function names, one a line) and 'retprobe'.
At load, fill() writes each function's kallsyms address(es) -> (probe name index,
name) into the program's `__kmulti_N` map; attach creates one link by name (`syms`).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable

from pytrace.probes.kmulti import (
    BPF_F_KPROBE_MULTI_RETURN,
    BPF_TRACE_KPROBE_MULTI,
    map_name,
    value_bytes,
)
from pytrace.resources import ProbeSpec, Resources
from pytrace.runtime import maps as bpfmaps
from pytrace.runtime import syscalls as sc

KALLSYMS = "/proc/kallsyms"


def funcs(spec: ProbeSpec) -> list[str]:
    """The functions a kprobe_multi program attaches to ([] for a one-function probe)."""
    text = str(spec.attach.get("funcs", ""))
    return text.split("\n") if text else []


def addresses(names: Iterable[str], path: str = KALLSYMS) -> dict[str, list[int]]:
    """The text addresses kallsyms gives each name (module symbols included)."""
    wanted = set(names)
    out: dict[str, list[int]] = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[1] in "tT" and parts[2] in wanted:
                out.setdefault(parts[2], []).append(int(parts[0], 16))
    return out


def fill(res: Resources, specs: Iterable[ProbeSpec], map_fd: Callable[[str], int],
         path: str = KALLSYMS) -> None:
    """Write the address map of every kprobe_multi program among `specs`."""
    for spec in specs:
        names = funcs(spec)
        if not names:
            continue
        m = next(m for m in res.maps if m.name.split(".")[0] == map_name(spec.index))
        kind = "kretprobe" if int(spec.attach.get("retprobe", 0)) else "kprobe"
        index = {n: i for i, n in enumerate(res.probe_names)}
        keys, values = bytearray(), bytearray()
        for name, addrs in addresses(names, path).items():
            value = value_bytes(index[f"{kind}:{name}"], name)
            for addr in addrs[:m.max_entries - len(keys) // 8]:
                keys += struct.pack("<Q", addr)
                values += value
        bpfmaps.update_many(map_fd(m.name), m, bytes(keys), bytes(values))


def link_attr(prog_fd: int, syms: sc.Buffer, count: int, retprobe: bool) -> bytearray:
    """The BPF_LINK_CREATE attr: kprobe_multi {flags, cnt, syms, addrs, cookies} at 16."""
    attr = sc.new_attr()
    struct.pack_into("<III", attr, 0, prog_fd, 0, BPF_TRACE_KPROBE_MULTI)
    struct.pack_into("<IIQQQ", attr, 16, BPF_F_KPROBE_MULTI_RETURN if retprobe else 0,
                     count, syms.addr, 0, 0)
    return attr


def link(prog_fd: int, names: list[str], retprobe: bool) -> int:
    """One kprobe_multi link for every function in `names` (raises OSError)."""
    strings = [sc.cstr(n) for n in names]
    syms = sc.Buffer(b"".join(struct.pack("<Q", s.addr) for s in strings))
    return sc.bpf(sc.LINK_CREATE, link_attr(prog_fd, syms, len(names), retprobe),
                  "BPF_LINK_CREATE")
