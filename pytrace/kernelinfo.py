"""Facts about the running kernel that some builtins compile in: kernel symbol
addresses (/proc/kallsyms), a few task_struct member offsets, enumerator values and
kernel function names (one pass over /sys/kernel/btf/vmlinux, done once and only when a
program needs it).

This is a deliberately small reader for what the standard library needs (pcomm, ppid,
leader_comm/leader_tid, kfunc_exist, the %gr GFP flag names); the full BTF type model
lives in pytrace/btf when present.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import cache

KALLSYMS = "/proc/kallsyms"
VMLINUX_BTF = "/sys/kernel/btf/vmlinux"
BTF_MAGIC = 0xEB9F
STRUCT, UNION, ENUM, FUNC, VAR, DATASEC, ENUM64 = 4, 5, 6, 12, 14, 15, 19
# trailing bytes per kind: fixed part, bytes per vlen item
_TRAIL = {1: (4, 0), 3: (12, 0), 4: (0, 12), 5: (0, 12), 6: (0, 8), 13: (0, 8), 14: (4, 0),
          15: (0, 12), 17: (4, 0), 19: (0, 12)}
TASK_MEMBERS = ("real_parent", "group_leader", "pid", "tgid", "comm")


class KernelInfoError(Exception):
    """A kernel fact cannot be found (the message says which)."""


@cache
def kernel_symbols() -> dict[str, int]:
    """Name -> address of every symbol /proc/kallsyms shows (the first wins)."""
    out: dict[str, int] = {}
    try:
        with open(KALLSYMS) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[2] not in out:
                    out[parts[2]] = int(parts[0], 16)
    except OSError:
        pass
    return out


def kernel_symbol(name: str) -> int | None:
    """The address of kernel symbol `name`, or None (unknown, or addresses hidden)."""
    addr = kernel_symbols().get(name)
    return addr if addr else None


@dataclass(slots=True)
class BtfFacts:
    members: dict[str, dict[str, int]] = field(default_factory=dict)  # struct -> byte offsets
    enumerators: dict[str, int] = field(default_factory=dict)
    functions: set[str] = field(default_factory=set)
    variables: dict[str, int] = field(default_factory=dict)  # VAR name -> BTF type id
    percpu: set[int] = field(default_factory=set)  # VAR ids in the .data..percpu section


def _name(strings: bytes, off: int) -> str:
    end = strings.find(b"\0", off)
    return strings[off:end].decode("ascii", "replace")


@cache
def btf_facts(path: str = VMLINUX_BTF, structs: tuple[str, ...] = ("task_struct",)) -> BtfFacts:
    """Member offsets of `structs`, every enumerator and every function name."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise KernelInfoError(f"kernel BTF is not readable ({path}: {exc.strerror})") from None
    magic, _ver, _flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(
        "<HBBIIIII", data, 0)
    if magic != BTF_MAGIC:
        raise KernelInfoError(f"{path} is not BTF")
    types = data[hdr_len + type_off:hdr_len + type_off + type_len]
    strings = data[hdr_len + str_off:hdr_len + str_off + str_len]
    facts = BtfFacts()
    wanted = {s.encode() for s in structs}
    pos, type_id = 0, 0
    while pos + 12 <= len(types):
        name_off, info, _size = struct.unpack_from("<III", types, pos)
        kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
        pos += 12
        type_id += 1
        fixed, per = _TRAIL.get(kind, (0, 0))
        body = pos + fixed
        if kind in (STRUCT, UNION) and name_off:
            sname = strings[name_off:strings.find(b"\0", name_off)]
            if sname in wanted and sname.decode() not in facts.members:
                offsets = {}
                for i in range(vlen):
                    m_name, _m_type, m_off = struct.unpack_from("<III", types, body + 12 * i)
                    bits = m_off & 0xFFFFFF if info >> 31 else m_off
                    offsets[_name(strings, m_name)] = bits // 8
                facts.members[sname.decode()] = offsets
        elif kind == ENUM:
            for i in range(vlen):
                e_name, value = struct.unpack_from("<Ii", types, body + 8 * i)
                facts.enumerators.setdefault(_name(strings, e_name), value)
        elif kind == ENUM64:
            for i in range(vlen):
                e_name, lo, hi = struct.unpack_from("<III", types, body + 12 * i)
                facts.enumerators.setdefault(_name(strings, e_name), lo | hi << 32)
        elif kind == FUNC and name_off:
            facts.functions.add(_name(strings, name_off))
        elif kind == VAR and name_off:
            facts.variables.setdefault(_name(strings, name_off), type_id)
        elif kind == DATASEC and _name(strings, name_off) == ".data..percpu":
            facts.percpu.update(struct.unpack_from("<I", types, body + 12 * i)[0]
                                for i in range(vlen))
        pos = body + per * vlen
    return facts


def struct_offset(struct_name: str, member: str) -> int:
    """The byte offset of `member` in kernel struct `struct_name` (KernelInfoError if
    BTF does not describe it)."""
    offsets = btf_facts(structs=("task_struct",)).members.get(struct_name)
    if offsets is None or member not in offsets:
        raise KernelInfoError(f"kernel BTF has no member '{member}' in struct {struct_name}")
    return offsets[member]


def enumerator(name: str) -> int | None:
    try:
        return btf_facts().enumerators.get(name)
    except KernelInfoError:
        return None


def percpu_variable(name: str) -> int | None:
    """The BTF type id of per-CPU kernel variable `name` (in .data..percpu), or None."""
    try:
        facts = btf_facts()
    except KernelInfoError:
        return None
    vid = facts.variables.get(name)
    return vid if vid is not None and vid in facts.percpu else None


def kernel_function_exists(name: str) -> bool:
    try:
        return name in btf_facts().functions
    except KernelInfoError:
        return False
