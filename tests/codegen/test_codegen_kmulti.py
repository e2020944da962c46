"""Wide kprobe/kretprobe blocks compile to one kprobe_multi program carrying the list
of functions and its address map; narrow ones keep one program per function."""

from __future__ import annotations

import pytest

from pytrace.codegen import kmulti
from pytrace.driver import check_source, generate
from pytrace.passes.context import Options
from pytrace.resources import MapKind
from pytrace.runtime.elf import parse_bpf_elf
from pytrace.source import Source


def build(text: str):  # type: ignore[no-untyped-def]
    return generate(check_source(Source("stdin", text), Options()))[1]


@pytest.mark.parametrize(("spelling", "kind"), [("k", "kprobe"), ("kr", "kretprobe")])
def test_wide_glob_is_one_program_with_the_function_list(spelling: str, kind: str) -> None:
    obj = build(f"{spelling}:vfs_* {{ @[probe] = count(); @f[func] = count(); }}")
    probes = obj.resources.probes
    assert len(probes) == 1
    spec = probes[0]
    names = str(spec.attach["funcs"]).split("\n")
    assert "vfs_read" in names and "vfs_write" in names
    assert all(n.startswith("vfs_") for n in names) and len(set(names)) == len(names)
    assert spec.kind == kind and spec.covers == len(names) >= 8
    assert spec.attach["retprobe"] == int(kind == "kretprobe")
    assert spec.expected_attach_type == kmulti.BPF_TRACE_KPROBE_MULTI
    assert {f"{kind}:{n}" for n in names} <= set(obj.resources.probe_names)
    m = obj.resources.map(kmulti.map_name(spec.index))
    assert (m.kind, m.key_size, m.value_size) == (MapKind.HASH, 8, kmulti.VALUE_SIZE)
    assert m.max_entries >= len(names)
    assert list(parse_bpf_elf(obj.elf).programs) == [spec.section]


def test_narrow_blocks_keep_one_program_per_function() -> None:
    obj = build("k:vfs_read, k:vfs_write { @[probe] = count(); }")
    assert [p.attach.get("func") for p in obj.resources.probes] == ["vfs_read", "vfs_write"]
    assert all("funcs" not in p.attach for p in obj.resources.probes)


def test_offsets_and_separate_kinds_are_not_shared() -> None:
    obj = build("k:vfs_*, kr:vfs_*, k:vfs_read+4 { @[probe] = count(); }")
    multi = [p for p in obj.resources.probes if "funcs" in p.attach]
    assert sorted(p.kind for p in multi) == ["kprobe", "kretprobe"]
    single = [p for p in obj.resources.probes if "funcs" not in p.attach]
    assert [p.name for p in single] == ["kprobe:vfs_read+4"]


def test_every_kernel_function_is_one_program() -> None:
    obj = build("k:* { @[probe] = count(); }")
    assert len(obj.resources.probes) == 1
    assert obj.resources.probes[0].covers > 1000


def test_map_value_layout() -> None:
    value = kmulti.value_bytes(3, "vfs_read")
    assert len(value) == kmulti.VALUE_SIZE
    assert value[:8] == (3).to_bytes(8, "little") and value[8:16] == b"vfs_read"
    assert kmulti.value_bytes(1, "x" * 100)[-1] == 0  # a long name stays terminated
