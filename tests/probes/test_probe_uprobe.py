"""uprobe/uretprobe/usdt expansion: symbols, offsets and addresses checked as bpftrace
checks them, library names, globs, archives and usdt namespaces."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from pytrace.probes import ProbeError, expand
from pytrace.probes.base import ProbeContext
from pytrace.probes.elfsyms import image
from pytrace.probes.uprobe import elf_symbols, resolve_path, usdt_notes

BASH = "/bin/bash"
needs_bash = pytest.mark.skipif(not os.path.exists(BASH), reason="no /bin/bash")

PROG = r"""
#include <sys/sdt.h>
__asm__(".text\n.globl bare\n.type bare,@function\nbare:\n mov %edi, %eax\n ret\n");
__asm__(".text\n.globl bare2\n.type bare2,@function\nbare2:\n mov %edi, %eax\n ret\n");
int bare(int); int bare2(int);
volatile int v;
__attribute__((noinline)) int sized(int x) { DTRACE_PROBE1(p1, tick, x); return x + v; }
__attribute__((noinline)) int other(int x) { DTRACE_PROBE1(p2, tick, x); DTRACE_PROBE(p1, tock); return x * v; }
int main(void) { return bare(1) + bare2(2) + sized(3) + other(4); }
"""

Build = Callable[..., str]  # the `cc` fixture (tests/probes/conftest.py)


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
                return int(value - seg["p_vaddr"] + seg["p_offset"])
    raise AssertionError("no segment")


@pytest.fixture
def prog(cc: Build) -> str:
    return cc("uprog", PROG)


def error(point: str, ctx: ProbeContext | None = None) -> str:
    with pytest.raises(ProbeError) as info:
        expand(point, ctx)
    return info.value.message


@needs_bash
def test_uprobe_symbol() -> None:
    (t,) = expand("uprobe:/bin/bash:readline")
    assert t.name == "uprobe:/bin/bash:readline"
    assert t.attach == {"path": BASH, "offset": file_offset(BASH, "readline"), "retprobe": 0}
    assert t.func == "readline" and t.user_pointers
    (r,) = expand("ur:/bin/bash:readline")
    assert r.attach["retprobe"] == 1 and r.kind == "uretprobe"
    (o,) = expand("u:/bin/bash:readline+7")  # the first instruction is 7 bytes long
    assert o.attach["offset"] == file_offset(BASH, "readline") + 7
    assert o.name == "uprobe:/bin/bash:readline+7"


def test_library_name() -> None:
    path = resolve_path("libc")
    assert os.path.isfile(path) and "libc" in os.path.basename(path)
    targets = expand("uprobe:libc:mallo?")
    assert targets and all(t.attach["path"] == path for t in targets)
    assert {t.func for t in targets} <= set(elf_symbols(path))
    assert all(t.name == f"uprobe:{path}:{t.func}" for t in targets)


def test_unknown_symbol_hint(prog: str) -> None:
    with pytest.raises(ProbeError) as info:
        expand(f"u:{prog}:size")
    assert info.value.message == f"Could not resolve symbol: {prog}:size"
    assert "sized" in info.value.hints[0]


def test_missing_file() -> None:
    assert error("uprobe:/no/such/file:main") == \
        "uprobe target file '/no/such/file' does not exist or is not executable"
    assert error("uretprobe:nosuchcmd:main").startswith("uprobe target file 'nosuchcmd'")
    assert error("usdt:/no/such:probe").startswith("usdt target file '/no/such'")
    with pytest.raises(ProbeError):
        expand("uprobe:/bin/bash")


def test_symbols_of_size_zero(prog: str) -> None:
    assert error(f"uprobe:{prog}:bare") == ("Could not determine boundary for bare (symbol "
                                            "has size 0). Use --unsafe to force attachment.")
    ctx = ProbeContext()
    assert {t.func for t in expand(f"uprobe:{prog}:*are*", ctx)} == set()
    assert ctx.warnings == [f"Could not determine boundary for {n} (symbol has size 0). "
                            "Skipping attachment (use --unsafe to force attachment)."
                            for n in ("bare", "bare2")]
    (t,) = expand(f"uprobe:{prog}:bare", ProbeContext(unsafe=True))
    assert t.attach["offset"] == file_offset(prog, "bare")
    (z,) = expand(f"uprobe:{prog}:bare+0")  # an explicit offset: the start is known
    assert z.attach["offset"] == file_offset(prog, "bare")
    assert error(f"uprobe:{prog}:bare+1") == "Offset outside the function bounds ('bare' size is 0)"


def test_offsets_inside_the_function(prog: str) -> None:
    size = image(prog).functions["sized"].size
    (t,) = expand(f"uprobe:{prog}:sized+{size - 1}")
    assert t.attach["offset"] == file_offset(prog, "sized") + size - 1
    assert error(f"uprobe:{prog}:sized+{size}") == \
        f"Offset outside the function bounds ('sized' size is {size})"
    assert error(f"uretprobe:{prog}:sized+1") == ("uretprobes cannot be attached at function "
                                                  "offset. (address resolved to: sized+1)")


def test_addresses(prog: str) -> None:
    sym = image(prog).functions["sized"]
    (t,) = expand(f"uprobe:{prog}:{sym.addr:#x}")
    assert (t.name, t.func) == (f"uprobe:{prog}:{sym.addr}", "sized")
    assert t.attach["offset"] == file_offset(prog, "sized")
    (inside,) = expand(f"uprobe:{prog}:{sym.addr + 1}")
    assert inside.attach["offset"] == file_offset(prog, "sized") + 1
    assert error(f"uretprobe:{prog}:{sym.addr + 1:#x}") == \
        "uretprobes cannot be attached at function offset. (address resolved to: sized+1)"
    bare = image(prog).functions["bare"].addr
    assert error(f"uprobe:{prog}:{bare:#x}") == f"Could not resolve address: {prog}:{bare:#x}"
    ctx = ProbeContext(unsafe=True)
    (u,) = expand(f"uprobe:{prog}:{bare:#x}", ctx)
    assert u.attach["offset"] == file_offset(prog, "bare")
    assert ctx.warnings == [f"Could not determine instruction boundary for uprobe:{prog}:{bare} "
                            "(binary appears stripped). Misaligned probes can lead to "
                            "tracee crashes!"]


def test_pid_goes_into_the_target(prog: str) -> None:
    (t,) = expand(f"uprobe:{prog}:sized", ProbeContext(pid=os.getpid()))
    assert t.attach["pid"] == os.getpid()


def test_several_binaries(tmp_path: Path, cc: Build) -> None:
    a = cc("multi_a", PROG)
    b = cc("multi_b", PROG)
    cc("multi_c", "int main(void) { return 0; }\n")
    names = [t.name for t in expand(f"uprobe:{tmp_path}/multi_*:sized")]
    assert names == [f"uprobe:{a}:sized", f"uprobe:{b}:sized"]
    assert len(expand(f"uprobe:{tmp_path}/multi_*:s*")) == 2
    assert error(f"uprobe:{tmp_path}/multi_*:nothing") == \
        f"Could not resolve symbol: {tmp_path}/multi_*:nothing"


def test_archive_member(tmp_path: Path, cc: Build) -> None:
    lib = cc("libin.so", "int zf(int x) { return 3 * x; }\n", "-shared", "-fPIC")
    z = tmp_path / "app.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("pad", "p" * 777)
        zf.write(lib, "lib/libin.so", compress_type=zipfile.ZIP_STORED)
    (t,) = expand(f"uprobe:{z}!/lib/libin.so:zf")
    assert t.name == f"uprobe:{z}!/lib/libin.so:zf" and t.attach["path"] == str(z)
    with zipfile.ZipFile(z) as zf:
        base = zf.getinfo("lib/libin.so").header_offset + 30 + len("lib/libin.so")
    assert t.attach["offset"] == base + file_offset(lib, "zf")


def test_usdt_locations_and_namespaces(prog: str) -> None:
    ticks = expand(f"usdt:{prog}:*:tick")
    assert sorted(t.name for t in ticks) == [f"usdt:{prog}:p1:tick", f"usdt:{prog}:p2:tick"]
    assert error(f"usdt:{prog}:tick") == \
        f"namespace for usdt:{prog}:tick not specified, matched 2 probes"
    (tock,) = expand(f"usdt:{prog}:tock")  # unique: the provider may be left out
    assert tock.name == f"usdt:{prog}:p1:tock" and tock.func == "tock"
    assert len(expand(f"usdt:{prog}:p*:t*")) == 3
    offsets = {n[2] for n in usdt_notes(prog)}
    assert {t.attach["offset"] for t in expand(f"usdt:{prog}:*:*")} == offsets
    assert error(f"usdt:{prog}:p1:tack") == "USDT probe not found: " + f"{prog}:p1:tack"
