"""BTF types as pytrace types (the model in pytrace/types.py).

Typedefs and qualifiers are transparent. A struct or union is converted with its
members; a named struct among them is *shallow* (name, size and alignment, no members)
and one reached through a pointer a reference by name (`StructT('struct task_struct')`),
both completed on demand by the TypeTable, so converting a type never walks the
kernel's type graph. Anonymous members are converted whole. A pointer whose pointee carries the `user` type
tag (`__user`) is a user-space pointer. `char`/signed 8-bit arrays become strings, as
bpftrace treats them.
"""

from __future__ import annotations

from pytrace.btf import format as F
from pytrace.btf.cdecl import align_of, type_name
from pytrace.btf.reader import BtfData, BtfType, Member
from pytrace.types import (
    BoolT,
    EnumT,
    FuncProtoT,
    IntT,
    OpaqueT,
    PtrT,
    StrT,
    StructT,
    Type,
    array_or_string,
    bitfield_member,
)


class Converter:
    """Converts the types of one BTF blob, memoising by type id."""

    def __init__(self, btf: BtfData) -> None:
        self.btf = btf
        self._memo: dict[tuple[int, bool], Type | None] = {}
        self._active: set[int] = set()
        self._members = 0  # > 0 while converting a struct's members

    def convert(self, type_id: int) -> Type | None:
        """The pytrace type of `type_id`; None for void."""
        key = (type_id, self._members > 0)
        if key in self._memo:
            return self._memo[key]
        if type_id in self._active:  # only a malformed blob loops without a pointer
            return OpaqueT(self.btf.type(type_id).name or "<recursive>")
        self._active.add(type_id)
        try:
            result = self._convert(self.btf.type(type_id))
        finally:
            self._active.discard(type_id)
        self._memo[key] = result
        return result

    def skip(self, type_id: int) -> BtfType:
        """The type behind typedefs, qualifiers, type tags and decl tags."""
        t = self.btf.type(type_id)
        while t.kind in F.MODIFIERS or t.kind in (F.TYPEDEF, F.DECL_TAG):
            t = self.btf.type(t.ref)
        return t

    def _convert(self, t: BtfType) -> Type | None:
        k = t.kind
        if k == 0:
            return None
        if k == F.INT:
            return _int(t)
        if k == F.PTR:
            return self._pointer(t)
        if k == F.ARRAY:
            elem = self.convert(t.ref)
            return array_or_string(elem if elem is not None else IntT(8, False), t.nelems)
        if k in (F.STRUCT, F.UNION):
            if t.name and self._members:  # a member: shallow, completed on demand
                return StructT(("union " if k == F.UNION else "struct ") + t.name, t.size,
                               union=k == F.UNION, align=align_of(self.btf, t.id))
            return self._struct(t)
        if k in (F.ENUM, F.ENUM64):
            return EnumT(t.size * 8, t.signed, f"enum {t.name}" if t.name else "", t.values)
        if k == F.FWD:
            return StructT(("union " if t.kflag else "struct ") + t.name, union=t.kflag)
        if k in F.MODIFIERS or k in (F.TYPEDEF, F.VAR, F.DECL_TAG):
            return self.convert(t.ref)
        if k == F.FUNC:
            return self.convert(t.ref)
        if k == F.FUNC_PROTO:
            return self.proto(t)
        if k == F.FLOAT:
            return OpaqueT(t.name, t.size, t.size)
        return OpaqueT(t.name or t.kind_name, t.size)

    def proto(self, t: BtfType) -> FuncProtoT:
        params = list(t.params)
        variadic = bool(params) and params[-1] == ("", 0)
        if variadic:
            params.pop()
        return FuncProtoT(self.convert(t.ref),
                          tuple((n, self.convert(tid) or OpaqueT("void")) for n, tid in params),
                          variadic)

    def _pointer(self, t: BtfType) -> PtrT:
        user = self._user_tagged(t.ref)
        target = self.skip(t.ref)
        pointee: Type | None
        if target.kind in (F.STRUCT, F.UNION) and target.name:
            pointee = StructT(("union " if target.kind == F.UNION else "struct ") + target.name,
                              union=target.kind == F.UNION)
        else:
            pointee = self.convert(t.ref)
        return PtrT(pointee, user=user, ctype=type_name(self.btf, t.id, tags=False))

    def _user_tagged(self, type_id: int) -> bool:
        t = self.btf.type(type_id)
        while t.kind in F.MODIFIERS:
            if t.kind == F.TYPE_TAG and t.name == "user":
                return True
            t = self.btf.type(t.ref)
        return False

    def _struct(self, t: BtfType) -> StructT:
        fields: list[tuple[str, Type, int]] = []
        self._members += 1
        try:
            for m in t.members:
                fields.append(self._member(m))
        finally:
            self._members -= 1
        prefix = "union " if t.kind == F.UNION else "struct "
        return StructT(prefix + t.name if t.name else "", t.size, tuple(fields),
                       union=t.kind == F.UNION, align=align_of(self.btf, t.id))

    def _member(self, m: Member) -> tuple[str, Type, int]:
        mt = self.convert(m.type_id) or OpaqueT("void")
        target = self.skip(m.type_id)
        bit_size = m.bit_size
        if not bit_size and target.kind == F.INT and (m.bit_offset % 8 or
                                                      target.bits < target.size * 8):
            bit_size = target.bits  # an old-style bitfield, encoded in the int
        if bit_size and isinstance(mt, IntT):
            return bitfield_member(m.name, mt, m.bit_offset, bit_size)
        return m.name, mt, m.bit_offset // 8


def _int(t: BtfType) -> Type:
    if t.encoding & F.INT_BOOL or t.name in ("_Bool", "bool"):
        return BoolT()
    if t.size > 8:
        return OpaqueT(t.name, t.size, min(t.size, 16))
    if t.name == "char" or t.encoding & F.INT_CHAR:
        return IntT(8, True)  # bpftrace's int8, whatever the ABI's char signedness
    return IntT(t.size * 8, bool(t.encoding & F.INT_SIGNED))


def convert(btf: BtfData, type_id: int) -> Type | None:
    """One-off conversion (the TypeTable keeps a Converter per blob instead)."""
    return Converter(btf).convert(type_id)


__all__ = ["Converter", "convert", "StrT"]
