"""C declarations (a pycparser AST) as pytrace types, laid out as the x86_64 C ABI does.

Struct, union, enum and typedef definitions are recorded by their C names; variable
and function declarations from headers are ignored. A name the C text does not define
(`struct task_struct`, `u64`) is taken from the fallback lookup (kernel BTF), as
bpftrace does. Errors carry the line pycparser reports (the #line markers of the
preprocessor keep it the program's own line, or the header's).
"""

from __future__ import annotations

from collections.abc import Callable

from pycparser import c_ast

from pytrace.cbasetypes import base_type, is_base_name
from pytrace.cdefs.attributes import MEMBER_ALIGNED, MEMBER_PACKED, PACKED_MEMBER
from pytrace.cdefs.errors import CDefsError
from pytrace.cdefs.layout import layout_struct
from pytrace.types import (
    EnumT,
    FuncProtoT,
    IntT,
    OpaqueT,
    PtrT,
    StructT,
    Type,
    array_or_string,
)

Fallback = Callable[[str], "Type | None"]
_VOID = OpaqueT("void", 0, 1)


def _error(message: str, node: c_ast.Node | None) -> CDefsError:
    coord = getattr(node, "coord", None)
    return CDefsError(message, getattr(coord, "line", 0) or 0, getattr(coord, "file", "") or "",
                      getattr(coord, "column", 0) or 0)


class Declarations:
    """Walks a translation unit, collecting named types and enumerators."""

    def __init__(self, fallback: Fallback) -> None:
        self.fallback = fallback
        self.types: dict[str, Type] = {}  # 'struct x', 'union x', 'enum x', typedef names
        self.enumerators: dict[str, tuple[Type, int]] = {}
        self._incomplete: set[str] = set()  # tags used but not (yet) defined anywhere

    # -------------------------------------------------------------- top level
    def add(self, ast: c_ast.FileAST, skip: int = 0) -> None:
        """Record the definitions of `ast` (its first `skip` nodes are a prelude)."""
        for node in ast.ext[skip:]:
            if isinstance(node, c_ast.Typedef):
                self.types[node.name] = self.convert(node.type, node)
            elif isinstance(node, c_ast.Decl):
                if isinstance(node.type, (c_ast.Struct, c_ast.Union, c_ast.Enum)):
                    self.tag_type(node.type)
                elif _defines_tag(node.type):
                    self.convert(node.type, node)  # `struct x { ... } var;`

    # ------------------------------------------------------------ conversion
    def convert(self, node: c_ast.Node, where: c_ast.Node | None = None) -> Type:
        """The type a declarator node stands for (void as OpaqueT('void'))."""
        if isinstance(node, c_ast.TypeDecl):
            return self.convert(node.type, node)
        if isinstance(node, c_ast.IdentifierType):
            return self.named(node.names, where or node)
        if isinstance(node, (c_ast.Struct, c_ast.Union, c_ast.Enum)):
            return self.tag_type(node)
        if isinstance(node, c_ast.PtrDecl):
            return self.pointer(node.type)
        if isinstance(node, c_ast.ArrayDecl):
            elem = self.convert(node.type, node)
            count = self.const_int(node.dim) if node.dim is not None else 0
            if isinstance(elem, StructT) and elem.name in self._incomplete:
                raise _error(f"array has incomplete element type '{elem}'", node)
            return array_or_string(elem, count)
        if isinstance(node, c_ast.FuncDecl):
            return self.proto(node)
        if isinstance(node, c_ast.Typename):
            return self.convert(node.type, node)
        raise _error(f"unsupported C declaration ({type(node).__name__})", where or node)

    def named(self, names: list[str], node: c_ast.Node) -> Type:
        if names == ["void"]:
            return _VOID
        if names == ["__builtin_va_list"]:
            return OpaqueT("__builtin_va_list", 24, 8)
        if is_base_name(names):
            t = base_type(names)
            return t if t is not None else _VOID
        name = " ".join(names)
        found = self.types.get(name)
        if found is None:
            found = self.fallback(name)
        if found is None:
            raise _error(f"unknown type name '{name}'", node)
        return found

    def pointer(self, target: c_ast.Node) -> PtrT:
        """A pointer: a struct/union it points to is held by name (a reference)."""
        inner = target.type if isinstance(target, c_ast.TypeDecl) else None
        if isinstance(inner, (c_ast.Struct, c_ast.Union)) and inner.name and inner.decls is None:
            kind = "union" if isinstance(inner, c_ast.Union) else "struct"
            ref = StructT(f"{kind} {inner.name}", union=kind == "union")
            return PtrT(ref, ctype=f"{ref.name} *")
        pointee = self.convert(target)
        if pointee is _VOID:
            return PtrT(None, ctype="void *")
        if isinstance(pointee, StructT) and pointee.name:
            return PtrT(StructT(pointee.name, union=pointee.union), ctype=f"{pointee.name} *")
        return PtrT(pointee, ctype=f"{_spell(pointee)} *")

    def proto(self, node: c_ast.FuncDecl) -> FuncProtoT:
        ret = self.convert(node.type, node)
        params: list[tuple[str, Type]] = []
        variadic = False
        for p in node.args.params if node.args is not None else []:
            if isinstance(p, c_ast.EllipsisParam):
                variadic = True
                continue
            pt = self.convert(p.type, p)
            if pt is _VOID and not isinstance(p.type, c_ast.PtrDecl):
                continue  # f(void)
            params.append((getattr(p, "name", None) or "", pt))
        return FuncProtoT(None if ret is _VOID else ret, tuple(params), variadic)

    # ----------------------------------------------------------- tag types
    def tag_type(self, node: c_ast.Struct | c_ast.Union | c_ast.Enum) -> Type:
        if isinstance(node, c_ast.Enum):
            return self.enum(node)
        kind = "union" if isinstance(node, c_ast.Union) else "struct"
        key = f"{kind} {node.name}" if node.name else ""
        if node.decls is None:  # a use (or forward declaration) of the tag
            found = self.types.get(key) if key else None
            if found is None and key:
                found = self.fallback(key)
            if found is None:
                self._incomplete.add(key)
                return StructT(key, union=kind == "union")
            return found
        if key:  # visible inside its own body (pointers to itself), complete after it
            self._incomplete.add(key)
        members: list[tuple[str, Type, int | None]] = []
        packed = False
        marks: dict[int, tuple[bool, int]] = {}  # attributes of member N
        for d in node.decls:
            if isinstance(d, c_ast.StaticAssert):
                continue
            if d.name == PACKED_MEMBER:
                packed = True
                continue
            if _align_marker(d.name, len(members), marks):
                continue
            mt = self.convert(d.type, d)
            if isinstance(mt, StructT) and mt.name in self._incomplete:
                raise _error(f"field has incomplete type '{mt}'", d)
            bits = self.const_int(d.bitsize) if d.bitsize is not None else None
            if bits is not None and not isinstance(mt, IntT):
                raise _error(f"bit-field '{d.name}' has non-integral type '{_spell(mt)}'", d)
            members.append((d.name or "", mt, bits))
        t = layout_struct(key, members, union=kind == "union", packed=packed,
                         aligns=_alignments(members, packed, marks))
        if key:
            self.types[key] = t
            self._incomplete.discard(key)
        return t

    def enum(self, node: c_ast.Enum) -> Type:
        key = f"enum {node.name}" if node.name else ""
        if node.values is None:
            found = self.types.get(key) or (self.fallback(key) if key else None)
            return found if found is not None else EnumT(32, False, key)
        values: list[tuple[str, int]] = []
        nxt = 0
        for e in node.values.enumerators:
            nxt = self.const_int(e.value) if e.value is not None else nxt
            values.append((e.name, nxt))
            self.enumerators[e.name] = (IntT(32, True), nxt)  # retyped below
            nxt += 1
        low = min((v for _, v in values), default=0)
        high = max((v for _, v in values), default=0)
        bits = 32 if -(1 << 31) <= low and high < (1 << 32) else 64
        t = EnumT(bits, low < 0, key, tuple(values))
        for name, v in values:
            self.enumerators[name] = (t, v)
        if key:
            self.types[key] = t
        return t

    # ------------------------------------------------------ constant values
    def const_int(self, node: c_ast.Node) -> int:
        from pytrace.cdefs.constexpr import evaluate

        try:
            return evaluate(node, self.enumerators, self.sizeof)
        except ValueError as exc:
            raise _error(str(exc), node) from None

    def sizeof(self, node: c_ast.Node) -> int:
        return self.convert(node).csize


def _align_marker(name: str | None, index: int, marks: dict[int, tuple[bool, int]]) -> bool:
    """Whether member `name` is an attribute marker (cdefs/attributes.py) for the member
    at `index` (the member count: after the last member, the struct's own); marks
    collects (packed, aligned) per index."""
    packed, aligned = marks.get(index, (False, 0))
    if name == MEMBER_PACKED:
        marks[index] = (True, aligned)
        return True
    m = MEMBER_ALIGNED.fullmatch(name or "")
    if m is None:
        return False
    marks[index] = (packed, max(aligned, int(m.group(1))))
    return True


def _alignments(members: list[tuple[str, Type, int | None]], packed: bool,
                marks: dict[int, tuple[bool, int]]) -> dict[int, int]:
    """Member index -> alignment where attributes change it (GCC: packed makes it 1,
    aligned(N) raises it to N); index len(members): the struct's own minimum."""
    out = {}
    for i, (mpacked, aligned) in marks.items():
        natural = members[i][1].calign if i < len(members) else 1
        base = 1 if packed or mpacked else max(1, natural)
        out[i] = max(base, aligned)
    return out


def _defines_tag(node: c_ast.Node) -> bool:
    while isinstance(node, (c_ast.TypeDecl, c_ast.PtrDecl, c_ast.ArrayDecl)):
        node = node.type
    return isinstance(node, (c_ast.Struct, c_ast.Union, c_ast.Enum)) and bool(
        getattr(node, "decls", None) or getattr(node, "values", None))


def _spell(t: Type) -> str:
    if isinstance(t, PtrT):
        return t.ctype or f"{_spell(t.pointee) if t.pointee else 'void'} *"
    return str(t)
