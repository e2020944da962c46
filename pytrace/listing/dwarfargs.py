"""Typed function parameters from DWARF, for `args.NAME` in uprobes.

A parameter's DWARF type becomes a pytrace type: integers, enums and `_Bool` by size
and signedness, pointers (a `char *` points to a signed byte so `str()` reads it, a
struct pointer names its struct), typedefs and qualifiers looked through. What does
not fit in a register argument (structs and arrays by value, floating point) is None:
such a parameter cannot be read through `args`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pytrace.listing.dwarf import _name, _target, dwarf_source, type_name
from pytrace.types import IntT, PtrT, StructT, Type

_SIGNED = {0x05, 0x06, 0x0D}  # DW_ATE_signed, signed_char, signed_fixed
_INTEGER = {0x02, 0x05, 0x06, 0x07, 0x08, 0x0D, 0x0E, 0x10}  # bool, (un)signed, chars, UTF


def _size(die: Any) -> int:
    attr = die.attributes.get("DW_AT_byte_size")
    return int(attr.value) if attr is not None else 0


def _strip(die: Any, depth: int = 0) -> Any:
    while die is not None and depth < 16 and die.tag in (
            "DW_TAG_typedef", "DW_TAG_const_type", "DW_TAG_volatile_type",
            "DW_TAG_restrict_type", "DW_TAG_atomic_type"):
        die, depth = _target(die), depth + 1
    return die


def _pointee(die: Any) -> Type | None:
    die = _strip(die)
    if die is None:
        return None
    if die.tag in ("DW_TAG_structure_type", "DW_TAG_union_type") and _name(die):
        kind = "union" if die.tag == "DW_TAG_union_type" else "struct"
        return StructT(f"{kind} {_name(die)}", union=kind == "union")
    scalar = arg_type(die)
    return scalar if isinstance(scalar, IntT) else None


def arg_type(die: Any) -> Type | None:
    """The pytrace type of a parameter's DWARF type (None: not a register value)."""
    original, die = die, _strip(die)
    if die is None:
        return None
    if die.tag == "DW_TAG_pointer_type":
        return PtrT(_pointee(_target(die)), user=True, ctype=type_name(original))
    if die.tag == "DW_TAG_enumeration_type":
        size = _size(die) or 4
        return IntT(size * 8, True) if size in (1, 2, 4, 8) else None
    if die.tag == "DW_TAG_base_type":
        enc = die.attributes.get("DW_AT_encoding")
        size = _size(die)
        if enc is None or enc.value not in _INTEGER or size not in (1, 2, 4, 8):
            return None
        return IntT(size * 8, enc.value in _SIGNED)
    return None


def _is_float(die: Any) -> bool:
    die = _strip(die)
    enc = die.attributes.get("DW_AT_encoding") if die is not None else None
    return die is not None and die.tag == "DW_TAG_base_type" and enc is not None \
        and enc.value in (0x03, 0x04)  # DW_ATE_complex_float, DW_ATE_float


def _slots(params: list[Any]) -> tuple[tuple[str, Type | None, int], ...]:
    """(name, type, integer argument slot) of each parameter (x86-64 SysV): floating
    point parameters go in SSE registers and have no slot (-1); after a struct or array
    passed by value the slots cannot be told (-1 from there on)."""
    out: list[tuple[str, Type | None, int]] = []
    slot, known = 0, True
    for i, c in enumerate(params):
        name, t = _name(c) or f"arg{i}", arg_type(_target(c))
        if _is_float(_target(c)):
            out.append((name, None, -1))
            continue
        out.append((name, t, slot if known and t is not None else -1))
        slot, known = slot + 1, known and t is not None
    return tuple(out)


@lru_cache(maxsize=256)
def function_args(path: str, func: str,
                  addr: int) -> tuple[tuple[str, Type | None, int], ...] | None:
    """(name, type, slot) of `func`'s parameters (at virtual address `addr`) in `path`'s
    DWARF (its own or its debug file's); None when there is no DWARF for it."""
    from elftools.common.exceptions import DWARFError, ELFError
    from elftools.elf.elffile import ELFFile

    source = dwarf_source(path)
    if source is None:
        return None
    try:
        with open(source, "rb") as f:
            dwarf = ELFFile(f).get_dwarf_info()
            aranges = dwarf.get_aranges()
            offset = aranges.cu_offset_at_addr(addr) if aranges is not None else None
            units = [dwarf.get_CU_at(offset)] if offset is not None else dwarf.iter_CUs()
            for cu in units:
                for die in cu.iter_DIEs():
                    if die.tag == "DW_TAG_subprogram" and _name(die) == func \
                            and "DW_AT_declaration" not in die.attributes:
                        return _slots([c for c in die.iter_children()
                                       if c.tag == "DW_TAG_formal_parameter"])
    except (OSError, ELFError, DWARFError, KeyError, ValueError):
        return None
    return None
