"""The struct-based ELF reader, checked against compiled BPF objects and (for
uprobe offsets) against pyelftools on a real binary. No kernel needed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "runtime"))
from bpfasm import compile_ir, counter_fn, map_global  # noqa: E402

from pytrace.runtime.elf import (  # noqa: E402
    R_BPF_64_32,
    R_BPF_64_64,
    ElfError,
    parse_bpf_elf,
    symbol_file_offset,
)


def test_programs_symbols_and_map_relocations() -> None:
    ir = map_global("counts") + counter_fn("a", "probe/a", "counts") + \
        counter_fn("b", "probe/b", "counts", "zero")
    elf = parse_bpf_elf(compile_ir(ir))
    assert set(elf.programs) == {"probe/a", "probe/b"}
    assert all(len(code) % 8 == 0 and code for code in elf.programs.values())
    for section in ("probe/a", "probe/b"):
        relocs = elf.relocations[section]
        assert [r.target for r in relocs] == ["counts", "counts"]  # lookup + update
        for r in relocs:
            assert r.type == R_BPF_64_64
            assert elf.programs[section][r.offset] == 0x18  # ld_imm64
    sym = elf.symbol("counts")
    assert sym is not None and sym.section == ".maps"


def test_rodata_section_symbol_relocation() -> None:
    ir = """
@s = private unnamed_addr constant [6 x i8] c"hello\\00", align 1
define i64 @p(ptr %ctx) #0 section "probe/p" {
  %x = load volatile i8, ptr getelementptr (i8, ptr @s, i64 1)
  %y = zext i8 %x to i64
  ret i64 %y
}
"""
    elf = parse_bpf_elf(compile_ir(ir))
    (r,) = elf.relocations["probe/p"]
    assert r.target.startswith(".rodata")
    assert elf.data_sections[r.target].startswith(b"hello\0")


def test_call_to_an_external_function_is_refused() -> None:
    ir = """
declare i64 @h(i64)
define i64 @p(ptr %ctx) #0 section "probe/p" {
  %r = call i64 @h(i64 7)
  ret i64 %r
}
"""
    with pytest.raises(ElfError, match="unsupported relocation type 10 against 'h'"):
        parse_bpf_elf(compile_ir(ir))


def test_call_into_text_is_a_subprogram_relocation() -> None:
    ir = """
define internal i64 @h(i64 %x) #1 section ".text" {
  %y = mul i64 %x, 3
  ret i64 %y
}
define i64 @p(ptr %ctx) #0 section "probe/p" {
  %r = call i64 @h(i64 7)
  ret i64 %r
}
"""
    elf = parse_bpf_elf(compile_ir(ir))
    (r,) = elf.relocations["probe/p"]
    assert r.type == R_BPF_64_32 and r.symbol.section == ".text"
    assert elf.programs["probe/p"][r.offset] == 0x85  # a call instruction


@pytest.mark.parametrize("data", [b"", b"not an elf at all", b"\x7fELF" + bytes(60)])
def test_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(ElfError):
        parse_bpf_elf(data)


def test_non_bpf_elf_refused() -> None:
    with pytest.raises(ElfError, match="EM_BPF"):
        parse_bpf_elf(Path(sys.executable).resolve().read_bytes())


def _pyelftools_offset(path: str, name: str) -> int:
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as f:
        elf = ELFFile(f)
        for secname in (".symtab", ".dynsym"):
            sec = elf.get_section_by_name(secname)
            if sec is None:
                continue
            syms = sec.get_symbol_by_name(name)  # type: ignore[attr-defined]
            if syms:
                value = syms[0]["st_value"]
                for seg in elf.iter_segments():
                    if seg["p_type"] == "PT_LOAD" and \
                            seg["p_vaddr"] <= value < seg["p_vaddr"] + seg["p_memsz"]:
                        return int(value - seg["p_vaddr"] + seg["p_offset"])
    raise AssertionError(f"{name} not found")


def test_uprobe_offsets_match_pyelftools(tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    src = tmp_path / "t.c"
    src.write_text("int g(int x){return x+1;}\nint main(void){return g(0)-1;}\n")
    exe = tmp_path / "t"
    subprocess.run(["gcc", "-O0", "-o", str(exe), str(src)], check=True)
    assert symbol_file_offset(str(exe), "g") == _pyelftools_offset(str(exe), "g")
    assert symbol_file_offset(str(exe), "main") == _pyelftools_offset(str(exe), "main")
    with pytest.raises(ElfError, match="'nope' not found"):
        symbol_file_offset(str(exe), "nope")


def test_stripped_binary_uses_dynsym() -> None:
    bash = "/bin/bash"
    if not os.path.exists(bash):
        pytest.skip("no /bin/bash")
    assert symbol_file_offset(bash, "readline") == _pyelftools_offset(bash, "readline")


def test_missing_file_is_clear() -> None:
    with pytest.raises(ElfError, match="cannot read /no/such/file"):
        symbol_file_offset("/no/such/file", "main")
