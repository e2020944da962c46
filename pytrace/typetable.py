"""TypeTable: the named C types a program can use, whatever defined them.

The program's own C definitions (and the headers it includes) come first, then the
kernel's BTF, looked up only on the first name the C definitions do not have. The
passes ask this table and never learn where a type came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pytrace.cbasetypes import base_type
from pytrace.types import ArrayT, FuncProtoT, StructT, Type

if TYPE_CHECKING:
    from pytrace.btf.types import BtfTypes, KernelFunc

_UNSET = object()


def normalize(name: str) -> str:
    """'struct  task_struct' -> 'struct task_struct'; 'long  unsigned' -> 'long unsigned'."""
    return " ".join(name.split())


class TypeTable:
    """Name -> type. `defined` holds C definitions by their C name ('struct foo',
    'union u', 'enum e', 'foo_t'); `btf` False keeps kernel BTF out (tests, no BTF)."""

    def __init__(self, defined: Mapping[str, Type] | None = None, btf: bool = True,
                 enumerators: Mapping[str, tuple[Type, int]] | None = None) -> None:
        self.defined: dict[str, Type] = dict(defined or {})
        self.enumerators: dict[str, tuple[Type, int]] = dict(enumerators or {})
        self._use_btf = btf
        self._btf: object = _UNSET
        self._deep: dict[tuple[str, int], Type] = {}

    # ------------------------------------------------------------------ sources
    def btf(self) -> BtfTypes | None:
        """Kernel BTF as model types, opened on first need (None without BTF)."""
        if self._btf is _UNSET:
            self._btf = None
            if self._use_btf:
                from pytrace.btf import kernel_btf
                from pytrace.btf.types import BtfTypes

                kernel = kernel_btf()
                self._btf = BtfTypes(kernel) if kernel is not None else None
        return self._btf  # type: ignore[return-value]

    # ------------------------------------------------------------------ lookups
    def lookup(self, name: str) -> Type | None:
        """The type `name` stands for: a C definition, a base type, or kernel BTF."""
        norm = normalize(name)
        found = self.defined.get(norm)
        if found is not None:
            return found
        base = base_type(norm.split())
        if base is not None:
            return base
        words = norm.split()
        if len(words) == 1:  # a bare tag name: `task_struct` for `struct task_struct`
            for tag in ("struct", "union", "enum"):
                found = self.defined.get(f"{tag} {norm}")
                if found is not None:
                    return found
        btf = self.btf()
        return btf.lookup(norm) if btf is not None else None

    def complete(self, t: Type) -> Type:
        """A struct without its members (a reference, as pointers hold them, or a
        shallow member of a BTF struct) made the full type; other types, and structs
        nobody defines, come back unchanged."""
        if isinstance(t, StructT) and not t.fields and t.name:
            full = self.lookup(t.name)
            if isinstance(full, StructT) and full.fields:
                return full
        return t

    def deep(self, t: Type, depth: int = 0) -> Type:
        """t with every struct inside it complete (members of members too, not through
        pointers): what a whole struct value needs to be printed."""
        if depth > 8:
            return t
        if isinstance(t, ArrayT):
            elem = self.deep(t.elem, depth + 1)
            return t if elem is t.elem else ArrayT(elem, t.count)
        if not isinstance(t, StructT):
            return t
        key = (t.name, t.byte_size)
        if t.name and key in self._deep:
            return self._deep[key]
        full = self.complete(t)
        assert isinstance(full, StructT)
        fields = tuple((n, self.deep(ft, depth + 1), off) for n, ft, off in full.fields)
        out = full if all(a[1] is b[1] for a, b in zip(fields, full.fields)) else StructT(
            full.name, full.byte_size, fields, full.union, full.align)
        if t.name:
            self._deep[key] = out
        return out

    def enumerator(self, name: str) -> tuple[Type, int] | None:
        """(enum type, value) of an enumerator: the C definitions', then the kernel's."""
        found = self.enumerators.get(name)
        if found is not None:
            return found
        btf = self.btf()
        return btf.enumerator(name) if btf is not None else None

    def func(self, name: str) -> FuncProtoT | None:
        """A kernel function's prototype (C declarations of functions are not kept)."""
        btf = self.btf()
        return btf.func(name) if btf is not None else None

    def kernel_function(self, name: str, module: str = "") -> KernelFunc | None:
        """An fentry/fexit target's prototype from kernel BTF (None: not found)."""
        btf = self.btf()
        return btf.kernel_function(name, module) if btf is not None else None

    def tracepoint_struct(self, event: str) -> StructT | None:
        btf = self.btf()
        return btf.tracepoint_struct(event) if btf is not None else None

    def raw_tracepoint_args(self, event: str) -> tuple[tuple[str, Type], ...] | None:
        btf = self.btf()
        return btf.raw_tracepoint_args(event) if btf is not None else None

    def suggestions(self, name: str, n: int = 3) -> list[str]:
        """Close names for an unknown type, from the C definitions and kernel BTF."""
        import difflib

        norm = normalize(name)
        close = difflib.get_close_matches(norm, list(self.defined), n=n, cutoff=0.6)
        btf = self.btf()
        if btf is not None and len(close) < n:
            close += [c for c in btf.close_names(norm, n) if c not in close]
        return close[:n]
