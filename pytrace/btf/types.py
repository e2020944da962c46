"""Kernel BTF seen through pytrace's type model: named types, function prototypes,
tracepoint records and raw tracepoint arguments, each converted on first use."""

from __future__ import annotations

from pytrace.btf import format as F
from pytrace.btf.convert import Converter
from pytrace.btf.kernel import KernelBtf, Ref
from pytrace.frozen import frozen
from pytrace.types import FuncProtoT, StructT, Type


@frozen
class KernelFunc:
    """A kernel function an fentry/fexit probe attaches to.

    module: the BTF blob that defines it ('vmlinux' or a module's name); btf_id: its
    FUNC id there (what BPF_PROG_LOAD's attach_btf_id names); params: (name, type) of
    each parameter, unnamed ones called argN; ret: the return type (None: void)."""

    name: str
    module: str
    btf_id: int
    params: tuple[tuple[str, Type], ...]
    ret: Type | None


class BtfTypes:
    """Looks names up in kernel BTF and returns model types (memoised per blob)."""

    def __init__(self, kernel: KernelBtf) -> None:
        self.kernel = kernel
        self._converters: dict[str, Converter] = {}

    def _convert(self, ref: Ref) -> Type | None:
        conv = self._converters.get(ref.btf.name)
        if conv is None:
            conv = self._converters[ref.btf.name] = Converter(ref.btf)
        return conv.convert(ref.id)

    def lookup(self, name: str) -> Type | None:
        """The type a C name stands for ('struct task_struct', 'u64', 'task_struct')."""
        ref = self.kernel.find(name)
        return self._convert(ref) if ref is not None else None

    def func(self, name: str) -> FuncProtoT | None:
        """The prototype of kernel function `name` (for fentry/kfunc arguments)."""
        ref = self.kernel.func_proto(name)
        t = self._convert(ref) if ref is not None else None
        return t if isinstance(t, FuncProtoT) else None

    def kernel_function(self, name: str, module: str = "") -> KernelFunc | None:
        """Kernel function `name` (in `module` when given) with its typed prototype."""
        ref = self.kernel.function(name, module)
        if ref is None:
            return None
        t = self._convert(Ref(ref.btf, ref.type.ref))
        if not isinstance(t, FuncProtoT):
            return None
        params = tuple((n or f"arg{i}", pt) for i, (n, pt) in enumerate(t.params))
        return KernelFunc(name, ref.module, ref.id, params, t.ret)

    def tracepoint_struct(self, event: str) -> StructT | None:
        """The record a tracepoint of class `event` writes (`trace_event_raw_<event>`)."""
        ref = self.kernel.tracepoint_struct(event)
        t = self._convert(ref) if ref is not None else None
        return t if isinstance(t, StructT) else None

    def raw_tracepoint_args(self, event: str) -> tuple[tuple[str, Type], ...] | None:
        """(name, type) of each argument of raw tracepoint `event` (the context pointer
        that BTF lists first is left out); unnamed arguments are called argN."""
        ref = self.kernel.raw_tracepoint_proto(event)
        t = self._convert(ref) if ref is not None else None
        if not isinstance(t, FuncProtoT):
            return None
        return tuple((n or f"arg{i}", pt) for i, (n, pt) in enumerate(t.params[1:]))

    def enumerator(self, name: str) -> tuple[Type, int] | None:
        """(enum type, value) of a kernel enumerator (`TASK_COMM_LEN`, `BPF_MAP_TYPE_HASH`)."""
        found = self.kernel.enumerator(name)
        if found is None:
            return None
        t = self._convert(found[0])
        return (t, found[1]) if t is not None else None

    def close_names(self, name: str, n: int = 3) -> list[str]:
        """Up to n type names close to `name` (for 'did you mean' hints): candidates
        share the name's first letters, so no full scan of the kernel's names."""
        words = name.split()
        tag = words[0] if len(words) == 2 and words[0] in ("struct", "union", "enum") else ""
        bare = words[-1] if words else name
        kinds = {"struct": (F.STRUCT,), "union": (F.UNION,), "enum": (F.ENUM, F.ENUM64)}.get(
            tag, (F.STRUCT, F.UNION, F.ENUM, F.TYPEDEF))
        import re

        # Candidates share the first letters (the strings are searched at C speed);
        # only then are the kernel's types walked, once, for those names.
        candidates: set[str] = set()
        for cut in (3, 2, 1):
            prefix = re.escape(bare[:cut].encode())
            for btf in self.kernel.blobs():
                strings = btf.strings_matching(prefix + rb"[^\0]*")
                if not strings:
                    continue
                for tid in btf.named_ids(frozenset(kinds)):
                    s = strings.get(btf.words[btf.offsets[tid - btf.first_id]])
                    if s is not None:
                        candidates.add(s.decode("utf-8", "replace"))
            if len(candidates) >= 20:
                break
        import difflib

        close = difflib.get_close_matches(bare, sorted(candidates), n=n, cutoff=0.6)
        return [f"{tag} {c}" if tag else c for c in close]
