"""runtime/cfi.py: decoded CFI rows reduced to what the BPF unwinder follows, FDE tables
merged with STOP rows at their ends, real tables of a gcc -O2 -fomit-frame-pointer
binary and of libc, and the on-disk cache."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from cbuild import build_c

from pytrace.runtime import cfi
from pytrace.runtime.cfi import KIND_RBP, KIND_RSP, KIND_STOP, Row

LIBC = "/lib/x86_64-linux-gnu/libc.so.6"


def _cfa(reg: int | None, offset: int = 0, expr: object = None) -> SimpleNamespace:
    return SimpleNamespace(reg=reg, offset=offset, expr=expr)


def _rule(kind: str, arg: int | None = None) -> SimpleNamespace:
    return SimpleNamespace(type=kind, arg=arg)


def test_rsp_and_rbp_based_rows() -> None:
    entry = {"pc": 0x10, "cfa": _cfa(7, 16), 16: _rule("OFFSET", -8), 6: _rule("OFFSET", -16)}
    assert cfi.reduce_row(entry) == Row(0x10, KIND_RSP, 16, -16)
    entry = {"pc": 0x14, "cfa": _cfa(6, 16), 16: _rule("OFFSET", -8), 6: _rule("OFFSET", -16)}
    assert cfi.reduce_row(entry) == Row(0x14, KIND_RBP, 16, -16)
    entry = {"pc": 0x18, "cfa": _cfa(7, 8), 16: _rule("OFFSET", -8)}
    assert cfi.reduce_row(entry) == Row(0x18, KIND_RSP, 8, 0)  # rbp unchanged


@pytest.mark.parametrize("entry", [
    {"pc": 1, "cfa": _cfa(None, 0, expr=[1]), 16: _rule("OFFSET", -8)},  # a CFA expression
    {"pc": 1, "cfa": _cfa(3, 8), 16: _rule("OFFSET", -8)},  # CFA from rbx
    {"pc": 1, "cfa": _cfa(7, 8), 16: _rule("UNDEFINED")},  # the outermost frame (_start)
    {"pc": 1, "cfa": _cfa(7, 8), 16: _rule("OFFSET", -16)},  # not where a call puts it
    {"pc": 1, "cfa": _cfa(7, 8), 16: _rule("OFFSET", -8), 6: _rule("REGISTER", 3)},
])
def test_rules_the_unwinder_cannot_follow_stop(entry: dict) -> None:  # type: ignore[type-arg]
    assert cfi.reduce_row(entry).kind == KIND_STOP


def test_merge_drops_an_end_row_where_the_next_fde_starts() -> None:
    a = [Row(0x10, KIND_RSP, 8), Row(0x20, KIND_STOP)]
    b = [Row(0x20, KIND_RSP, 8), Row(0x28, KIND_RSP, 16), Row(0x30, KIND_STOP)]
    c = [Row(0x40, KIND_RSP, 8), Row(0x48, KIND_STOP)]
    assert cfi.merge([c, b, a]) == a[:1] + b + c


def test_rows_pack_at_an_address_and_round_trip() -> None:
    rows = [Row(0x1000, KIND_RSP, 8), Row(0x1004, KIND_RBP, 16, -16), Row(0x1010, KIND_STOP)]
    assert cfi.unpack_rows(cfi.pack_rows(rows)) == rows
    pc, cfa, rbp, kind, _ = cfi.ROW.unpack(rows[1].pack(0x7000))
    assert (pc, cfa, rbp, kind) == (0x8004, 16, -16, KIND_RBP)


def test_a_frame_pointer_less_binary_has_rsp_rows_at_its_functions(tmp_path: Path) -> None:
    from pytrace.runtime.elf import function_symbols

    prog = build_c(tmp_path, "f", "__attribute__((noinline)) long f(long x) { return x * 3; }\n"
                   "int main(int c, char **v) { return (int)f(c); }", "-O2",
                   "-fomit-frame-pointer")
    rows = cfi.build_rows(prog)
    assert [r.pc for r in rows] == sorted(r.pc for r in rows)
    at = {r.pc: r for r in rows}
    f = function_symbols(prog)["f"]
    assert at[f] == Row(f, KIND_RSP, 8, 0)  # CFA = rsp + 8: the return address on top
    assert rows[-1].kind == KIND_STOP


def test_libc_table_and_its_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not os.path.exists(LIBC):
        pytest.skip("no glibc here")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    rows = cfi.file_rows(LIBC)
    kinds = {r.kind for r in rows}
    assert len(rows) > 1000 and {KIND_RSP, KIND_STOP} <= kinds
    cached = list((tmp_path / "pytrace" / "cfi").iterdir())
    assert len(cached) == 1 and oct(cached[0].stat().st_mode & 0o777) == "0o600"
    assert cfi.file_rows(LIBC) == rows  # read back from the cache


def test_files_without_cfi_have_no_rows(tmp_path: Path) -> None:
    (tmp_path / "x").write_bytes(b"not an ELF file")
    assert cfi.build_rows(str(tmp_path / "x")) == []
    assert cfi.file_rows(str(tmp_path / "missing")) == []
