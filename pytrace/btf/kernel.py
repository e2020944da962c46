"""The kernel's BTF: vmlinux plus the modules' split BTF, looked up by name.

Names are C spellings: `struct task_struct`, `union x`, `enum x`, a typedef or base
type name (`u64`, `unsigned int`), or a bare tag name (`task_struct`, tried as a
typedef first, then as a struct, union or enum). vmlinux is searched first; module
BTF is opened only when vmlinux does not have the name (or for listings).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from typing import NamedTuple

from pytrace.btf import format as F
from pytrace.btf.index import open_blob
from pytrace.btf.reader import BtfData, BtfType

SYSFS_BTF = "/sys/kernel/btf"

_TAGGED = {"struct": (F.STRUCT,), "union": (F.UNION,), "enum": (F.ENUM, F.ENUM64)}
_BARE = (F.TYPEDEF, F.INT, F.FLOAT, F.STRUCT, F.UNION, F.ENUM, F.ENUM64)
_PREFIX = {F.STRUCT: "struct ", F.UNION: "union ", F.ENUM: "enum ", F.ENUM64: "enum "}


class Ref(NamedTuple):
    """One type of one BTF blob."""

    btf: BtfData
    id: int

    @property
    def type(self) -> BtfType:
        return self.btf.type(self.id)

    @property
    def module(self) -> str:
        return self.btf.name


def split_name(name: str) -> tuple[str, tuple[int, ...]]:
    """('task_struct', kinds to try) for 'struct task_struct'; bare names try all."""
    words = name.split()
    if len(words) == 2 and words[0] in _TAGGED:
        return words[1], _TAGGED[words[0]]
    return " ".join(words), _BARE


def display_name(t: BtfType) -> str:
    """'struct task_struct', 'enum x', or the plain name for typedefs and base types."""
    return _PREFIX.get(t.kind, "") + t.name


class KernelBtf:
    """vmlinux BTF (always) and module BTF (opened on first need)."""

    def __init__(self, root: str = SYSFS_BTF, vmlinux: str | None = None) -> None:
        """`vmlinux`: another BTF file used instead of the kernel's (BPFTRACE_BTF);
        module BTF, split against the running kernel's, is then not used."""
        self.root = root
        self.vmlinux = open_blob("vmlinux", vmlinux or os.path.join(root, "vmlinux"))
        self._modules: list[BtfData] | None = [] if vmlinux else None
        self._function_ids: dict[str, dict[str, int]] = {}  # blob name -> FUNC ids

    def modules(self) -> list[BtfData]:
        if self._modules is None:
            mods = []
            try:
                names = sorted(n for n in os.listdir(self.root) if n != "vmlinux")
            except OSError:
                names = []
            for n in names:
                try:
                    mods.append(open_blob(n, os.path.join(self.root, n), self.vmlinux))
                except (OSError, F.BtfFormatError):
                    continue  # a module unloaded meanwhile, or not BTF we understand
            self._modules = mods
        return self._modules

    def blobs(self) -> Iterator[BtfData]:
        yield self.vmlinux
        yield from self.modules()

    def _search_order(self) -> Iterator[tuple[BtfData, ...]]:
        yield (self.vmlinux,)
        yield tuple(self.modules())  # opened only when vmlinux did not have the name

    # ------------------------------------------------------------------ lookups
    def find_all(self, name: str, kinds: tuple[int, ...] | None = None) -> list[Ref]:
        """Every definition of `name`, vmlinux first (modules only when vmlinux has none)."""
        bare, tried = split_name(name)
        kinds = kinds or tried
        for blobs in self._search_order():
            found = []
            for btf in blobs:
                for tid in btf.ids_named(bare):
                    if btf.owns(tid) and btf.raw_kind(tid) in kinds:
                        found.append(Ref(btf, tid))
            if found:
                order = {k: i for i, k in enumerate(kinds)}
                return sorted(found, key=lambda r: order[r.btf.raw_kind(r.id)])
        return []

    def find(self, name: str, kinds: tuple[int, ...] | None = None) -> Ref | None:
        """The definition `name` stands for, or None."""
        found = self.find_all(name, kinds)
        return found[0] if found else None

    def func(self, name: str) -> Ref | None:
        """A kernel function (BTF FUNC) by name; its `ref` is the prototype."""
        return self.find(name, (F.FUNC,))

    def function(self, name: str, module: str = "") -> Ref | None:
        """FUNC `name` where an fentry/fexit probe attaches: in `module`'s BTF when one is
        named ('vmlinux' is the kernel itself), else vmlinux first, then the modules."""
        if not module:
            return self.func(name)
        if module in self._function_ids:  # a wildcard already walked this blob
            tid = self._function_ids[module].get(name)
            blob = self.vmlinux if module == "vmlinux" else next(
                b for b in self.modules() if b.name == module)
            return Ref(blob, tid) if tid is not None else None
        if module == "vmlinux":
            blobs: list[BtfData] = [self.vmlinux]
        else:
            blobs = [b for b in self.modules() if b.name == module]
        for btf in blobs:
            for tid in btf.ids_named(name):
                if btf.owns(tid) and btf.raw_kind(tid) == F.FUNC:
                    return Ref(btf, tid)
        return None

    def function_ids(self, module: str = "vmlinux") -> dict[str, int]:
        """name -> FUNC id of every function in one blob's BTF (one walk, memoised):
        what wildcard fentry/fexit probes and their listing filter by."""
        found = self._function_ids.get(module)
        if found is None:
            blobs = [self.vmlinux] if module == "vmlinux" else \
                [b for b in self.modules() if b.name == module]
            found = {}
            for btf in blobs:
                for tid in btf.named_ids(frozenset({F.FUNC})):
                    found.setdefault(btf.raw_name(tid).decode("utf-8", "replace"), tid)
            self._function_ids[module] = found
        return found

    def has_module(self, module: str) -> bool:
        """Whether `module` has BTF (is loaded): 'vmlinux' always does."""
        return module == "vmlinux" or any(b.name == module for b in self.modules())

    def func_proto(self, name: str) -> Ref | None:
        """The FUNC_PROTO of kernel function `name`."""
        f = self.func(name)
        return Ref(f.btf, f.type.ref) if f is not None else None

    def tracepoint_struct(self, event: str) -> Ref | None:
        """`struct trace_event_raw_<event>`: the record of tracepoint class `event`."""
        return self.find(f"struct trace_event_raw_{event}")

    def raw_tracepoint_proto(self, event: str) -> Ref | None:
        """The prototype of raw tracepoint `event`: its first parameter is the `void *`
        context, the tracepoint's own arguments follow. Taken from the named stub
        functions when BTF has them (`__probestub_<event>`, `__bpf_trace_<event>`: their
        parameters have names), else from the `btf_trace_<event>` typedef."""
        for stub in (f"__probestub_{event}", f"__bpf_trace_{event}"):
            proto = self.func_proto(stub)
            if proto is not None and proto.type.kind == F.FUNC_PROTO:
                return proto
        td = self.find(f"btf_trace_{event}", (F.TYPEDEF,))
        if td is None:
            return None
        ptr = td.btf.type(td.type.ref)
        if ptr.kind != F.PTR:
            return None
        proto_t = td.btf.type(ptr.ref)
        return Ref(td.btf, proto_t.id) if proto_t.kind == F.FUNC_PROTO else None

    def enumerator(self, name: str) -> tuple[Ref, int] | None:
        """(the enum, value) of an enumerator named `name` (vmlinux, then modules)."""
        key = name.encode()
        for blobs in self._search_order():
            for btf in blobs:
                offs = set(btf.string_offsets(key))
                if btf.base is not None:
                    offs |= set(btf.base.string_offsets(key))
                if not offs:
                    continue
                found = _enumerator_in(btf, offs, name)
                if found is not None:
                    return found
        return None

    def names(self, pattern: str, kinds: tuple[int, ...] | None = None) -> list[tuple[str, Ref]]:
        """(display name, ref) of every struct/union/enum (`struct task_*`), or of every
        named type when the pattern has no tag word, matching a shell glob; sorted,
        one entry per name and module. `kinds` narrows the kinds searched."""
        words = pattern.split(None, 1)
        if len(words) == 2 and words[0] in _TAGGED:
            glob, tried = words[1], _TAGGED[words[0]]
        else:
            glob, tried = pattern.strip(), _BARE
        kinds = tuple(k for k in tried if k in kinds) if kinds else tried
        wanted = frozenset(kinds)
        out: dict[tuple[str, str], Ref] = {}
        for btf in self.blobs():
            for tid in btf.named_ids(wanted):
                name = btf.raw_name(tid).decode("utf-8", "replace")
                if fnmatch.fnmatchcase(name, glob):
                    shown = _PREFIX.get(btf.raw_kind(tid), "") + name
                    out.setdefault((shown, btf.name), Ref(btf, tid))
        return sorted(((s, r) for (s, _), r in out.items()),
                      key=lambda x: (x[0], x[1].module != "vmlinux", x[1].module))


def _enumerator_in(btf: BtfData, offs: set[int], name: str) -> tuple[Ref, int] | None:
    words = btf.words
    for idx, w in enumerate(btf.offsets):
        info = words[w + 1]
        kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
        step = 2 if kind == F.ENUM else 3 if kind == F.ENUM64 else 0
        if not step:
            continue
        for x in range(w + 3, w + 3 + step * vlen, step):
            if words[x] in offs:
                ref = Ref(btf, btf.first_id + idx)
                return ref, dict(ref.type.values)[name]
    return None
