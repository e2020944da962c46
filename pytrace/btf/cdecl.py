"""C text for BTF types, spelled as libbpf's BTF dumper spells it (what bpftrace shows).

`type_name` gives a type's C spelling (`struct task_struct *`, `const char *`);
`declaration` a member or parameter declaration (`char comm[16]`,
`void (*func)(struct callback_head *)`); `definition` a struct, union or enum body with
anonymous members inline, bitfields, explicit padding (`long: 64;`) and
`__attribute__((packed))` where the layout needs them.
"""

from __future__ import annotations

from pytrace.btf import format as F
from pytrace.btf.reader import BtfData, BtfType

_PAD_TYPES = (("long", 64), ("int", 32), ("short", 16), ("char", 8))
_BASES = frozenset({F.INT, F.FLOAT, F.STRUCT, F.UNION, F.ENUM, F.ENUM64, F.FWD, F.TYPEDEF})
_QUALIFIERS = {F.VOLATILE: "volatile", F.CONST: "const", F.RESTRICT: "restrict"}


class _Out:
    def __init__(self, tags: bool = True) -> None:
        self.parts: list[str] = []
        self.tags = tags  # write type tags (`__attribute__((btf_type_tag(...)))`)

    def add(self, text: str) -> None:
        self.parts.append(text)

    def text(self) -> str:
        return "".join(self.parts)


def type_name(btf: BtfData, type_id: int, tags: bool = True) -> str:
    """The C spelling of a type without a declared name (`tags` False leaves out the
    type tags, such as `__user`'s, that only the dumper shows)."""
    out = _Out(tags)
    _decl(btf, out, type_id, "", 0)
    return out.text()


def declaration(btf: BtfData, type_id: int, name: str, lvl: int = 0) -> str:
    out = _Out()
    _decl(btf, out, type_id, name, lvl)
    return out.text()


def definition(btf: BtfData, type_id: int) -> str:
    """The full definition of a struct/union/enum, ending in `;` (what -lv prints)."""
    t = btf.type(type_id)
    out = _Out()
    if t.kind in (F.STRUCT, F.UNION):
        _struct_def(btf, out, t, 0)
    elif t.kind in (F.ENUM, F.ENUM64):
        _enum_def(out, t, 0)
    elif t.kind == F.TYPEDEF:
        out.add("typedef ")
        _decl(btf, out, t.ref, t.name, 0)
    else:
        _decl(btf, out, type_id, "", 0)
    out.add(";")
    return out.text()


# ----------------------------------------------------------------- declarations


def _chain(btf: BtfData, type_id: int) -> list[int]:
    """The declarator stack: from the outermost modifier down to the base type."""
    stack = []
    while True:
        stack.append(type_id)
        if type_id == 0:
            return stack
        t = btf.type(type_id)
        if t.kind in _BASES:
            return stack
        if t.kind in (F.PTR, F.VOLATILE, F.CONST, F.RESTRICT, F.FUNC_PROTO, F.TYPE_TAG,
                      F.ARRAY):
            type_id = t.ref
        else:  # func, var, datasec... are not part of a declarator
            return stack


def _decl(btf: BtfData, out: _Out, type_id: int, name: str, lvl: int) -> None:
    _emit_chain(btf, out, _chain(btf, type_id), name, lvl)


def _emit_mods(btf: BtfData, out: _Out, stack: list[int]) -> None:
    """Qualifiers right above the base type are written before it (`const char`)."""
    while stack and stack[-1] and btf.type(stack[-1]).kind in _QUALIFIERS:
        out.add(_QUALIFIERS[btf.type(stack.pop()).kind] + " ")


def _drop_mods(btf: BtfData, stack: list[int]) -> None:
    while stack and stack[-1] and btf.type(stack[-1]).kind in _QUALIFIERS:
        stack.pop()


def _emit_name(out: _Out, name: str, last_was_ptr: bool) -> None:
    if name:
        out.add(name if last_was_ptr else " " + name)


def _emit_chain(btf: BtfData, out: _Out, stack: list[int], name: str, lvl: int) -> None:
    last_was_ptr = True
    while stack:
        tid = stack.pop()
        if tid == 0:
            _emit_mods(btf, out, stack)
            out.add("void")
            last_was_ptr = False
            continue
        t = btf.type(tid)
        k = t.kind
        if k in (F.INT, F.FLOAT, F.TYPEDEF):
            _emit_mods(btf, out, stack)
            out.add(t.name)
        elif k in (F.STRUCT, F.UNION):
            _emit_mods(btf, out, stack)
            if t.name:
                out.add(("union " if k == F.UNION else "struct ") + t.name)
            else:
                _struct_def(btf, out, t, lvl)
        elif k in (F.ENUM, F.ENUM64):
            _emit_mods(btf, out, stack)
            if t.name:
                out.add("enum " + t.name)
            else:
                _enum_def(out, t, lvl)
        elif k == F.FWD:
            _emit_mods(btf, out, stack)
            out.add(("union " if t.kflag else "struct ") + t.name)
        elif k == F.PTR:
            out.add("*" if last_was_ptr else " *")
        elif k in _QUALIFIERS:
            out.add(" " + _QUALIFIERS[k])
        elif k == F.TYPE_TAG:
            _emit_mods(btf, out, stack)
            if out.tags:
                out.add(f' __attribute__((btf_type_tag("{t.name}")))')
        elif k == F.ARRAY:
            _emit_array(btf, out, t, stack, name, lvl, last_was_ptr)
            return
        elif k == F.FUNC_PROTO:
            _emit_proto(btf, out, t, stack, name, lvl, last_was_ptr)
            return
        else:
            return
        last_was_ptr = k == F.PTR
    _emit_name(out, name, last_was_ptr)


def _emit_array(btf: BtfData, out: _Out, t: BtfType, stack: list[int], name: str,
                lvl: int, last_was_ptr: bool) -> None:
    _drop_mods(btf, stack)
    if not stack:
        _emit_name(out, name, last_was_ptr)
        out.add(f"[{t.nelems}]")
        return
    multidim = bool(stack[-1]) and btf.type(stack[-1]).kind == F.ARRAY
    if name and not last_was_ptr:
        out.add(" ")
    if not multidim:
        out.add("(")
    _emit_chain(btf, out, stack, name, lvl)
    if not multidim:
        out.add(")")
    out.add(f"[{t.nelems}]")


def _emit_proto(btf: BtfData, out: _Out, t: BtfType, stack: list[int], name: str,
                lvl: int, last_was_ptr: bool) -> None:
    _drop_mods(btf, stack)
    if stack:
        out.add(" (")
        _emit_chain(btf, out, stack, name, lvl)
        out.add(")")
    else:
        _emit_name(out, name, last_was_ptr)
    out.add("(")
    params = t.params
    if len(params) == 1 and params[0][1] == 0:
        out.add("void)")
        return
    for i, (pname, ptype) in enumerate(params):
        if i:
            out.add(", ")
        if i == len(params) - 1 and ptype == 0:
            out.add("...")
            break
        _decl(btf, out, ptype, pname, lvl)
    out.add(")")


# ------------------------------------------------------------------ definitions


def align_of(btf: BtfData, type_id: int) -> int:
    """C alignment of a type (1 for a struct whose layout shows it is packed)."""
    return btf.align(type_id) if type_id else 1


def size_of(btf: BtfData, type_id: int) -> int:
    """C size of a type (0 for void, functions and unsized types)."""
    t = btf.type(type_id)
    k = t.kind
    if k in (F.INT, F.ENUM, F.ENUM64, F.FLOAT, F.STRUCT, F.UNION, F.DATASEC):
        return t.size
    if k == F.PTR:
        return 8
    if k in (F.TYPEDEF, F.VOLATILE, F.CONST, F.RESTRICT, F.TYPE_TAG, F.VAR, F.DECL_TAG):
        return size_of(btf, t.ref)
    if k == F.ARRAY:
        return t.nelems * size_of(btf, t.ref)
    return 0


def is_packed(btf: BtfData, t: BtfType) -> bool:
    best = 1
    for m in t.members:
        a = align_of(btf, m.type_id)
        if a and not m.bit_size and m.bit_offset % (8 * a):
            return True
        best = max(best, a)
    return bool(t.size % best)


def _pad(out: _Out, cur: int, nxt: int, next_align: int, in_bitfield: bool, lvl: int) -> None:
    """Explicit padding between bit offsets cur and nxt, where the compiler would not
    put it by itself."""
    if cur >= nxt:
        return
    pad_type, pad_bits, new = "char", 8, cur
    for name, width in _PAD_TYPES:
        pad_type, pad_bits = name, width
        new = -(-cur // pad_bits) * pad_bits
        if new <= nxt:
            break
    tabs = "\t" * lvl
    if cur < new <= nxt:
        if (in_bitfield or (new == nxt and -(-cur // (next_align * 8)) * next_align * 8 != new)
                or (new != nxt and nxt - new <= new - cur)):
            out.add(f"\n{tabs}{pad_type}: {new - cur if in_bitfield else 0};")
        cur = new
    while cur != nxt:
        bits = min(nxt - cur, pad_bits)
        if bits == pad_bits:
            out.add(f"\n{tabs}{pad_type}: {pad_bits};")
            cur += bits
            continue
        for name, width in reversed(_PAD_TYPES):
            if width >= bits:
                out.add(f"\n{tabs}{name}: {bits};")
                cur += bits
                break


def _struct_def(btf: BtfData, out: _Out, t: BtfType, lvl: int) -> None:
    is_struct = t.kind == F.STRUCT
    packed = is_packed(btf, t)
    align = 1 if packed else align_of(btf, t.id)
    out.add(("struct" if is_struct else "union") + (" " + t.name if t.name else "") + " {")
    off, prev_bitfield = 0, False
    for m in t.members:
        m_align = 1 if packed else align_of(btf, m.type_id)
        in_bitfield = prev_bitfield and m.bit_size != 0
        _pad(out, off, m.bit_offset, m_align, in_bitfield, lvl + 1)
        out.add("\n" + "\t" * (lvl + 1))
        _decl(btf, out, m.type_id, m.name, lvl + 1)
        if m.bit_size:
            out.add(f": {m.bit_size}")
            off, prev_bitfield = m.bit_offset + m.bit_size, True
        else:
            off, prev_bitfield = m.bit_offset + max(0, size_of(btf, m.type_id)) * 8, False
        out.add(";")
    if is_struct:
        _pad(out, off, t.size * 8, align, False, lvl + 1)
    out.add("\n" + "\t" * lvl + "}" if t.members or t.size else "}")
    if packed:
        out.add(" __attribute__((packed))")


def _enum_def(out: _Out, t: BtfType, lvl: int) -> None:
    out.add("enum" + (" " + t.name if t.name else ""))
    if not t.values:
        return
    out.add(" {")
    tabs = "\t" * (lvl + 1)
    wide = t.kind == F.ENUM64
    for name, value in t.values:
        suffix = ("LL" if t.kflag else "ULL") if wide else ""
        out.add(f"\n{tabs}{name} = {value}{suffix},")
    out.add("\n" + "\t" * lvl + "}")
    if t.size == 1:
        out.add(" __attribute__((mode(byte)))")
    elif t.size == 8 and (not wide or all(0 <= v < (1 << 32) for _, v in t.values)):
        out.add(" __attribute__((mode(word)))")
