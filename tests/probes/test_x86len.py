"""Instruction lengths agree with objdump on every function of real binaries."""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import lru_cache

import pytest

from pytrace.probes.x86len import boundaries, insn_length, is_boundary
from pytrace.runtime.elf import vaddr_to_offset

BINARIES = ["/bin/bash", "/usr/lib/x86_64-linux-gnu/libc.so.6"]
FUNC = re.compile(r"^([0-9a-f]+) <([^>]+)>:$")
INSN = re.compile(r"^\s+([0-9a-f]+):\t(\S.*)$")
PREFIX = 1024  # bytes checked from the start of each function (where uprobe offsets go)


@lru_cache(maxsize=4)
def objdump_functions(path: str) -> dict[str, list[int]]:
    """Function name -> instruction addresses, as objdump sees them (.text only)."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-j", ".text", path],
                         capture_output=True, text=True, check=True).stdout
    funcs: dict[str, list[int]] = {}
    current: list[int] | None = None
    for line in out.splitlines():
        m = FUNC.match(line)
        if m:
            current = funcs.setdefault(f"{m.group(2)}@{m.group(1)}", [])
            continue
        m = INSN.match(line)
        if m and current is not None and not m.group(2).startswith("(bad)"):
            current.append(int(m.group(1), 16))
    return funcs


@pytest.mark.skipif(shutil.which("objdump") is None, reason="objdump (binutils) is the oracle")
@pytest.mark.parametrize("path", BINARIES)
def test_every_function_matches_objdump(path: str) -> None:
    data = open(path, "rb").read()
    checked = 0
    for name, all_addrs in objdump_functions(path).items():
        addrs = [a for a in all_addrs if a - all_addrs[0] < PREFIX]
        if len(addrs) < 2:
            continue
        base = vaddr_to_offset(path, addrs[0])
        code = data[base: base + (addrs[-1] - addrs[0]) + 16]
        expected = [a - addrs[0] for a in addrs]
        got = list(boundaries(code, expected[-1]))
        assert got == expected, f"{name}: first difference at " + next(
            f"+{e:#x} (decoded {g:#x})" for g, e in zip(got, expected) if g != e)
        checked += len(addrs)
    assert checked > 10_000


@pytest.mark.parametrize(("hexcode", "length"), [
    ("90", 1), ("c3", 1), ("55", 1), ("4889e5", 3), ("f30f1efa", 4),  # endbr64
    ("48b8" + "00" * 8, 10), ("b8" + "00" * 4, 5), ("66b80000", 4),  # mov imm64/32/16
    ("e8" + "00" * 4, 5), ("0f8400000000", 6), ("7405", 2),
    ("488b0500000000", 7), ("8b4424f8", 4), ("8b8424f8ffffff", 7),  # rip, sib disp8/32
    ("c5f877", 3), ("c4e27918c0", 5), ("c4e3794ac001", 6),  # vzeroupper, VEX 0F38/0F3A
    ("62f17c4828c1", 6), ("660f3a0fc108", 6), ("f7c000000000", 6), ("f6c001", 3),
    ("c8080000", 4), ("48a10000000000000000", 10), ("67a100000000", 6),
])
def test_known_encodings(hexcode: str, length: int) -> None:
    assert insn_length(bytes.fromhex(hexcode) + b"\x00" * 16) == length


def test_is_boundary() -> None:
    code = bytes.fromhex("f30f1efa554889e5b801000000c3")  # endbr64; push; mov; mov; ret
    assert [o for o in range(len(code)) if is_boundary(code, o)] == [0, 4, 5, 8, 13]
