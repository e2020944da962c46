"""runtime/dwtables.py: executable mappings, load biases and per-process tables (of a
`sleep` child: this process maps LLVM, whose table takes ~20 s to build uncached), and
writing tables into real BPF maps."""

from __future__ import annotations

import struct
import subprocess
import time

import pytest

from pytrace.resources import DW_PIDS_MAP, DW_ROWS_MAP, BpfObject, MapKind, MapSpec, Resources
from pytrace.runtime import cfi, dwtables
from pytrace.runtime import maps as bpfmaps
from pytrace.runtime.loader import LoadedObject


def test_mapping_bias_of_a_pie_text_segment() -> None:
    m = dwtables.ExecMapping(0x5600_0000_1000, 0x5600_0000_2000, 0x1000, "/x")
    segs = [(0, 0x800, 0, 4), (0x1000, 0x1000, 0x1000, 5)]
    assert dwtables.mapping_bias(m, segs) == 0x5600_0000_0000
    assert dwtables.mapping_bias(m, [(0, 0x800, 0, 4)]) is None  # no executable segment


@pytest.fixture(scope="module")
def sleeper() -> tuple[dwtables.PidTable, list[dwtables.ExecMapping]]:
    """The table and executable mappings of a `sleep` child, once libc is mapped."""
    child = subprocess.Popen(["sleep", "10"])
    try:
        for _ in range(200):
            if any("libc" in m.path for m in dwtables.exec_mappings(child.pid)):
                break
            time.sleep(0.005)
        return dwtables.build_table(child.pid), dwtables.exec_mappings(child.pid)
    finally:
        child.kill()
        child.wait()


def test_a_process_has_a_table_sorted_by_address(sleeper) -> None:  # type: ignore[no-untyped-def]
    t, maps = sleeper
    assert t.count > 100 and any("libc" in f for f in t.files), t.files
    pcs = [pc for pc, *_ in cfi.ROW.iter_unpack(t.rows)]
    assert pcs == sorted(pcs)
    inside = [pc for pc in pcs if any(m.start <= pc <= m.end for m in maps)]
    assert len(inside) == len(pcs)  # every row at an address this process maps


def test_a_gone_process_has_no_rows() -> None:
    assert dwtables.build_table(0x3FFFFF).count == 0


def test_tables_are_written_one_after_another() -> None:
    rows = MapSpec(DW_ROWS_MAP, "r", MapKind.ARRAY, 4, 16, 1)
    pids = MapSpec(DW_PIDS_MAP, "p", MapKind.HASH, 8, 16, 4)
    tables = dwtables.DwarfTables([
        dwtables.PidTable(11, cfi.pack_rows([cfi.Row(0x10, 1, 8), cfi.Row(0x20, 0)])),
        dwtables.PidTable(12, cfi.pack_rows([cfi.Row(0x30, 1, 8)]))])
    res = dwtables.sized(Resources(maps=(rows, pids)), tables.capacity)
    assert res.map(DW_ROWS_MAP).max_entries == 3
    with LoadedObject(BpfObject(b"", res), load_probes=False) as loaded:
        writer = dwtables.TableWriter(res, loaded.map_fd)
        for t in tables.tables:
            writer.write(t)
        got = bpfmaps.lookup(loaded.map_fd(DW_PIDS_MAP), res.map(DW_PIDS_MAP),
                             struct.pack("<Q", 12))
        assert got and struct.unpack("<QQ", got[0]) == (2, 1)
        row = bpfmaps.lookup(loaded.map_fd(DW_ROWS_MAP), res.map(DW_ROWS_MAP),
                             struct.pack("<I", 2))
        assert row and cfi.unpack_rows(row[0]) == [cfi.Row(0x30, 1, 8)]


def test_the_vdso_rows_come_from_the_process_memory(sleeper) -> None:  # type: ignore[no-untyped-def]
    t, maps = sleeper
    vdso = [m for m in maps if m.path == dwtables.VDSO]
    assert vdso and dwtables.VDSO in t.files, t.files
    assert any(vdso[0].start <= pc < vdso[0].end for pc, *_ in cfi.ROW.iter_unpack(t.rows))
