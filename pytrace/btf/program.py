"""A loaded BPF program's own BTF: the names and prototypes of its functions.

The blob comes from the kernel (runtime/bpfprogs.py fetches it by BTF object id); it is
standalone BTF, parsed by the same reader as the kernel's. A FUNC id taken from the
program's func_info names one function: `name_of` gives its name, `function` its typed
prototype (what `args`/`retval` of an fentry:bpf / fexit:bpf probe are), `param_lines`
the `-lv` lines. Structs the program's BTF only names (`struct pt_regs *`) stay
references that the TypeTable completes from kernel BTF.
"""

from __future__ import annotations

from pytrace.btf import format as F
from pytrace.btf.cdecl import type_name
from pytrace.btf.convert import Converter
from pytrace.btf.reader import BtfData, BtfType
from pytrace.btf.types import KernelFunc
from pytrace.types import FuncProtoT


class ProgramBtf:
    """The BTF of one loaded program (`name` labels it: 'prog_123')."""

    def __init__(self, name: str, data: bytes) -> None:
        self.btf = BtfData(name, data)
        self._conv = Converter(self.btf)

    def _func(self, type_id: int) -> BtfType | None:
        try:
            t = self.btf.type(type_id)
        except KeyError:
            return None
        return t if t.kind == F.FUNC else None

    def name_of(self, type_id: int) -> str | None:
        """The name of FUNC `type_id` (None: no such FUNC, or it has no name)."""
        t = self._func(type_id)
        return t.name or None if t is not None else None

    def _proto(self, type_id: int) -> BtfType | None:
        t = self._func(type_id)
        if t is None:
            return None
        try:
            proto = self.btf.type(t.ref)
        except KeyError:
            return None
        return proto if proto.kind == F.FUNC_PROTO else None

    def function(self, type_id: int) -> KernelFunc | None:
        """FUNC `type_id` with its typed prototype (unnamed parameters are argN); None
        when the blob does not describe it whole (a type id it lacks)."""
        t, proto = self._func(type_id), self._proto(type_id)
        if t is None or proto is None:
            return None
        try:
            conv = self._conv.convert(proto.id)
        except KeyError:
            return None
        if not isinstance(conv, FuncProtoT):
            return None
        params = tuple((n or f"arg{i}", pt) for i, (n, pt) in enumerate(conv.params))
        return KernelFunc(t.name, self.btf.name, type_id, params, conv.ret)

    def params(self, type_id: int) -> list[tuple[str, str]]:
        """(name, C type) of each parameter of FUNC `type_id` ('' for unnamed ones)."""
        proto = self._proto(type_id)
        if proto is None:
            return []
        try:
            return [(name, type_name(self.btf, tid)) for name, tid in proto.params
                    if (name, tid) != ("", 0)]
        except KeyError:
            return []

    def param_lines(self, type_id: int) -> list[str]:
        """`TYPE NAME` per parameter, then `TYPE retval` unless it returns void: the
        lines `-lv` prints under a function (as it does for kernel functions)."""
        proto = self._proto(type_id)
        if proto is None:
            return []
        lines = [f"{ctype} {name}" if name else ctype for name, ctype in self.params(type_id)]
        if proto.ref:
            try:
                lines.append(f"{type_name(self.btf, proto.ref)} retval")
            except KeyError:
                pass
        return lines
