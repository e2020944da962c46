"""Function parameters from a binary's DWARF (pyelftools), for `-lv 'uprobe:BIN:FUNC'`.

Parameters are spelled `TYPE NAME` with pointers written `char*`, as bpftrace prints
them; a binary without .debug_info has no parameters to show (None).
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


@lru_cache(maxsize=8)
def _functions(path: str) -> dict[str, tuple[str, ...]] | None:
    from elftools.common.exceptions import DWARFError, ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            if elf.get_section_by_name(".debug_info") is None:
                return None
            out: dict[str, tuple[str, ...]] = {}
            for cu in elf.get_dwarf_info().iter_CUs():
                for die in cu.iter_DIEs():
                    if die.tag != "DW_TAG_subprogram" or "DW_AT_declaration" in die.attributes:
                        continue
                    name = _name(die)
                    if name is not None and name not in out:
                        out[name] = tuple(_params(die))
            return out
    except (OSError, ELFError, DWARFError, KeyError, ValueError):
        return None


def function_params(path: str, func: str) -> list[str] | None:
    """The parameters of `func` in `path`; None when the binary has no DWARF."""
    funcs = _functions(path)
    if funcs is None:
        return None
    return list(funcs.get(func, ()))
