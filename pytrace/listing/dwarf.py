"""Function parameters from a binary's DWARF (pyelftools), for `-lv 'uprobe:BIN:FUNC'`.

Parameters are spelled `TYPE NAME` with pointers written `char*`, as bpftrace prints
them. The DWARF is the binary's own or that of its separate debug file
(pytrace.probes.debugfile: `libc6-dbg`'s for libc); a binary with neither has no
parameters to show (None). Given the function's address, only the compile unit that
`.debug_aranges` says holds it is read (a library's whole DWARF takes minutes in pure
Python).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

_TAGGED = {"DW_TAG_structure_type": "struct", "DW_TAG_union_type": "union",
           "DW_TAG_enumeration_type": "enum", "DW_TAG_class_type": "class"}
_QUALIFIERS = {"DW_TAG_const_type": "const", "DW_TAG_volatile_type": "volatile",
               "DW_TAG_restrict_type": "restrict"}


def _name(die: Any) -> str | None:
    attr = die.attributes.get("DW_AT_name")
    return attr.value.decode("utf-8", "replace") if attr is not None else None


def _target(die: Any) -> Any:
    return die.get_DIE_from_attribute("DW_AT_type") if "DW_AT_type" in die.attributes else None


def type_name(die: Any, depth: int = 0) -> str:
    """The C spelling of a DWARF type DIE (None: void)."""
    if die is None:
        return "void"
    if depth > 16:
        return "..."
    tag, name = die.tag, _name(die)
    if tag in _TAGGED:
        return f"{_TAGGED[tag]} {name or '(anonymous)'}"
    if tag in _QUALIFIERS:
        return f"{_QUALIFIERS[tag]} {type_name(_target(die), depth + 1)}"
    if tag in ("DW_TAG_pointer_type", "DW_TAG_reference_type"):
        return type_name(_target(die), depth + 1) + ("*" if tag == "DW_TAG_pointer_type" else "&")
    if tag == "DW_TAG_array_type":
        return type_name(_target(die), depth + 1) + "[]"
    if tag == "DW_TAG_subroutine_type":
        return type_name(_target(die), depth + 1) + " (*)()"
    return name or "void"


def _params(die: Any) -> list[str]:
    out = []
    for child in die.iter_children():
        if child.tag == "DW_TAG_formal_parameter":
            pname = _name(child)
            text = type_name(_target(child))
            out.append(f"{text} {pname}" if pname else text)
    return out


def _subprograms(dies: Any, out: dict[str, tuple[str, ...]], only: str | None = None) -> None:
    for die in dies:
        if die.tag != "DW_TAG_subprogram" or "DW_AT_declaration" in die.attributes:
            continue
        name = _name(die)
        if name is not None and name not in out and (only is None or name == only):
            out[name] = tuple(_params(die))


@lru_cache(maxsize=64)
def dwarf_source(path: str) -> str | None:
    """The file holding `path`'s DWARF: itself, its debug file, or None."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    from pytrace.probes.debugfile import debug_file

    try:
        with open(path, "rb") as f:
            if ELFFile(f).get_section_by_name(".debug_info") is not None:
                return path
    except (OSError, ELFError, ValueError):
        return None
    found = debug_file(path)
    return found if found is not None and _has_debug_info(found) else None


def _has_debug_info(path: str) -> bool:
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open(path, "rb") as f:
            return ELFFile(f).get_section_by_name(".debug_info") is not None
    except (OSError, ELFError, ValueError):
        return False


@lru_cache(maxsize=8)
def _functions(path: str) -> dict[str, tuple[str, ...]] | None:
    """Every function of a file's DWARF (small files: a whole scan)."""
    from elftools.common.exceptions import DWARFError, ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            if elf.get_section_by_name(".debug_info") is None:
                return None
            out: dict[str, tuple[str, ...]] = {}
            for cu in elf.get_dwarf_info().iter_CUs():
                _subprograms(cu.iter_DIEs(), out)
            return out
    except (OSError, ELFError, DWARFError, KeyError, ValueError):
        return None


@lru_cache(maxsize=256)
def _in_unit(path: str, func: str, addr: int) -> tuple[str, ...] | None:
    """`func`'s parameters from the compile unit holding `addr` (None: no aranges;
    empty: no unit holds it)."""
    from elftools.common.exceptions import DWARFError, ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open(path, "rb") as f:
            dwarf = ELFFile(f).get_dwarf_info()
            aranges = dwarf.get_aranges()
            if aranges is None:
                return None
            offset = aranges.cu_offset_at_addr(addr)
            if offset is None:
                return ()
            out: dict[str, tuple[str, ...]] = {}
            _subprograms(dwarf.get_CU_at(offset).iter_DIEs(), out, func)
            return out.get(func, ())
    except (OSError, ELFError, DWARFError, KeyError, ValueError):
        return None


def function_params(path: str, func: str, addr: int | None = None) -> list[str] | None:
    """The parameters of `func` in `path` (at virtual address `addr` when known); None
    when the binary has no DWARF, its own or a debug file's."""
    source = dwarf_source(path)
    if source is None:
        return None
    if addr is not None:
        found = _in_unit(source, func, addr)
        if found is not None:
            return list(found)
    funcs = _functions(source)
    if funcs is None:
        return None
    return list(funcs.get(func, ()))
