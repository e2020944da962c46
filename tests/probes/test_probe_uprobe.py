"""uprobe/uretprobe resolution from ELF symbols."""

from __future__ import annotations

import os

import pytest
from elftools.elf.elffile import ELFFile

from pytrace.probes import ProbeError, expand
from pytrace.probes.uprobe import elf_symbols, resolve_path

BASH = "/bin/bash"
needs_bash = pytest.mark.skipif(not os.path.exists(BASH), reason="no /bin/bash")


def file_offset(path: str, symbol: str) -> int:
    """Independent computation: symbol value minus its PT_LOAD's vaddr plus offset."""
    with open(path, "rb") as f:
        elf = ELFFile(f)
        value = None
        for name in (".dynsym", ".symtab"):
            sec = elf.get_section_by_name(name)
            if sec is not None and sec.get_symbol_by_name(symbol):
                value = sec.get_symbol_by_name(symbol)[0]["st_value"]
                break
        assert value is not None
        for seg in elf.iter_segments():
            if seg["p_type"] == "PT_LOAD" and seg["p_vaddr"] <= value < seg["p_vaddr"] + seg["p_memsz"]:
                return value - seg["p_vaddr"] + seg["p_offset"]
    raise AssertionError("no segment")


@needs_bash
def test_uprobe_symbol():
    (t,) = expand("uprobe:/bin/bash:readline")
    assert t.name == "uprobe:/bin/bash:readline"
    assert t.attach == {"path": BASH, "offset": file_offset(BASH, "readline"), "retprobe": 0}
    assert t.func == "readline" and t.user_pointers
    (r,) = expand("ur:/bin/bash:readline+7")  # the first instruction is 7 bytes long
    assert r.attach["retprobe"] == 1 and r.attach["offset"] == file_offset(BASH, "readline") + 7


def test_library_name():
    path = resolve_path("libc")
    assert os.path.isfile(path) and "libc" in os.path.basename(path)
    targets = expand("uprobe:libc:mallo?")
    assert targets and all(t.attach["path"] == path for t in targets)
    assert {t.func for t in targets} <= set(elf_symbols(path))


@needs_bash
def test_unknown_symbol_hint():
    with pytest.raises(ProbeError) as info:
        expand("u:/bin/bash:readlin")
    assert info.value.message == "Could not resolve symbol: /bin/bash:readlin"
    assert "readline" in info.value.hints[0]


def test_missing_file():
    with pytest.raises(ProbeError):
        expand("uprobe:/no/such/file:main")
    with pytest.raises(ProbeError):
        expand("uprobe:/bin/bash")
