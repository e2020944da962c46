"""Source locations of a binary's DWARF line table, for `uprobe:BIN@FILE:LINE[:COL]`.

The line table (pyelftools) maps statements to addresses. A location matches rows that
start a statement (`is_stmt`) of that line (and column, when given) whose file is FILE:
an absolute FILE is compared with the row's full path, a relative one with its last
components. Rows of other files (headers included into it) never match. The probe goes
on the lowest such address: where a debugger's breakpoint on that line stops first.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from pytrace.probes.base import ProbeError

Row = tuple[str, int, int, int]  # (file path, line, column, address)


def _decode(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _file_paths(program: Any) -> list[str]:
    """The full path of each file entry, by the index rows use (DWARF 5 counts from 0)."""
    header = program.header
    dirs = [_decode(d) for d in header["include_directory"]]
    version = header["version"]
    out = []
    for entry in header["file_entry"]:
        name = _decode(entry.name)
        index = entry.dir_index if version >= 5 else entry.dir_index - 1
        base = dirs[index] if 0 <= index < len(dirs) else ""
        if version < 5 and entry.dir_index == 0:
            base = ""
        out.append(name if os.path.isabs(name) or not base else os.path.join(base, name))
    return out if version >= 5 else ["", *out]


def _cu_dir(cu: Any) -> str:
    attr = cu.get_top_DIE().attributes.get("DW_AT_comp_dir")
    return _decode(attr.value) if attr is not None else ""


@lru_cache(maxsize=8)
def _rows(path: str, mtime: int) -> tuple[Row, ...]:
    from elftools.common.exceptions import DWARFError, ELFError
    from elftools.elf.elffile import ELFFile

    out: list[Row] = []
    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            if elf.get_section_by_name(".debug_info") is None:
                raise ProbeError(f"No DWARF found for \"{path}\", cannot resolve source "
                                 "locations", "build it with -g (or install its debug file)")
            dwarf = elf.get_dwarf_info()
            for cu in dwarf.iter_CUs():
                program = dwarf.line_program_for_CU(cu)
                if program is None:
                    continue
                files, comp = _file_paths(program), _cu_dir(cu)
                for entry in program.get_entries():
                    st = entry.state
                    if st is None or st.end_sequence or not st.is_stmt:
                        continue
                    name = files[st.file] if 0 <= st.file < len(files) else ""
                    full = os.path.normpath(os.path.join(comp, name)) if name else ""
                    out.append((full, st.line, st.column, st.address))
    except (OSError, ELFError, DWARFError, KeyError, ValueError) as e:
        raise ProbeError(f"cannot read the line table of '{path}': {e}") from None
    return tuple(out)


def _same_file(row_path: str, wanted: str) -> bool:
    if os.path.isabs(wanted):
        return row_path == os.path.normpath(wanted)
    parts = os.path.normpath(wanted).split(os.sep)
    return row_path.split(os.sep)[-len(parts):] == parts


def statement_address(path: str, source: str, line: int, column: int | None) -> int | None:
    """The lowest address of a statement at SOURCE:LINE[:COLUMN] (None: there is none);
    ProbeError when the binary has no DWARF."""
    from pytrace.listing.dwarf import dwarf_source

    readable = dwarf_source(path) or path
    found = [addr for file, ln, col, addr in _rows(readable, int(os.stat(readable).st_mtime_ns))
             if ln == line and (column is None or col == column) and _same_file(file, source)]
    return min(found) if found else None
