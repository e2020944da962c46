"""The struct-only ELF reader agrees with pyelftools on real files, and hands anything
that is not a 64-bit little-endian ELF back to the caller."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from pytrace.probes import elfscan

Build = Callable[..., str]


def _files(cc: Build) -> list[str]:
    return [cc("scan", "int main(void) { return 0; }\n", "-Wl,--build-id"),
            sys.executable, "/bin/true"]


def test_sections_and_segments_match_pyelftools(cc: Build) -> None:
    for path in _files(cc):
        with open(path, "rb") as stream:
            ref = ELFFile(stream)
            want = [(s.name, s["sh_type"], s["sh_offset"], s["sh_size"], s["sh_addr"])
                    for s in ref.iter_sections()]
            loads = [(s["p_vaddr"], s["p_memsz"], s["p_offset"]) for s in ref.iter_segments()
                     if s["p_type"] == "PT_LOAD"]
            dynsym = ref.get_section_by_name(".dynsym")
            dynsym_data = dynsym.data() if dynsym is not None else None
        f = elfscan.open_elf(path)
        assert f is not None
        with f:
            got = [(s.name, s.type, s.offset, s.size, s.addr) for s in f.sections]
            assert [g[0] for g in got] == [w[0] for w in want]
            assert [g[2:] for g in got] == [w[2:] for w in want]
            assert f.loads() == loads
            sec = f.section(".dynsym")
            assert (f.body(sec) if sec is not None else None) == dynsym_data


def test_build_id_and_debuglink(cc: Build) -> None:
    if shutil.which("objcopy") is None or shutil.which("readelf") is None:
        pytest.skip("binutils is not installed")
    path = cc("linked", "int main(void) { return 0; }\n", "-Wl,--build-id")
    subprocess.run(["objcopy", "--only-keep-debug", path, path + ".debug"], check=True)
    subprocess.run(["objcopy", f"--add-gnu-debuglink={path}.debug", path], check=True)
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
    build_id = next(ln.split(":", 1)[1].strip() for ln in out.splitlines() if "Build ID" in ln)
    f = elfscan.open_elf(path)
    assert f is not None
    with f:
        assert f.build_id() == build_id
        link = f.debuglink()
    assert link is not None and link[0] == "linked.debug"
    assert link[1] == __import__("zlib").crc32(Path(path + ".debug").read_bytes())


def test_not_elf64_is_left_to_the_caller(tmp_path: Path) -> None:
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    assert elfscan.open_elf(str(script)) is None
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert elfscan.open_elf(str(empty)) is None
    elf32 = tmp_path / "elf32"
    elf32.write_bytes(b"\x7fELF\x01\x01" + b"\0" * 60)
    assert elfscan.open_elf(str(elf32)) is None


def test_a_truncated_section_table_is_malformed(tmp_path: Path) -> None:
    head = bytearray(Path("/bin/true").read_bytes()[:64])
    bad = tmp_path / "bad"
    bad.write_bytes(bytes(head))  # the section table lies past the end
    with pytest.raises(ValueError):
        elfscan.open_elf(str(bad))


def test_program_headers_past_the_end_are_malformed(tmp_path: Path) -> None:
    elf = bytearray(Path("/bin/true").read_bytes())
    elf[39] = 0xA2  # the top byte of e_phoff
    bad = tmp_path / "bad"
    bad.write_bytes(bytes(elf))
    f = elfscan.open_elf(str(bad))
    assert f is not None
    with f, pytest.raises(ValueError, match="program header table"):
        f.loads()
