"""System-wide uprobes through uprobe_multi links: counted for real, one link per site
(no perf event), the `-p` and usdt cases kept on perf events, nothing left open."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import pytest
from cbuild import build_c
from test_attach import C_PROGRAM, counting_object, total

from pytrace.resources import BpfObject, ProbeSpec, ProgType
from pytrace.runtime import umulti
from pytrace.runtime.attach import attach_all
from pytrace.runtime.elf import symbol_file_offset
from pytrace.runtime.loader import LoadedObject


@pytest.fixture(scope="module")
def binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(build_c(tmp_path_factory.mktemp("umulti"), "t", C_PROGRAM, "-O1"))


def _spec(kind: str, **attach: str | int) -> ProbeSpec:
    return ProbeSpec(0, f"{kind}:x:f", kind, ProgType.KPROBE, "probe_0", attach)


def _multi(obj: BpfObject) -> BpfObject:
    probes = tuple(umulti.prepare(obj.resources.probes))
    return dataclasses.replace(obj, resources=dataclasses.replace(obj.resources, probes=probes))


def _link_type(fd: int) -> str:
    with open(f"/proc/self/fdinfo/{fd}") as f:
        fields = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    return fields.get("link_type", "")


def test_the_kernel_has_uprobe_multi_links() -> None:
    assert umulti.supported()  # Linux 6.18 here (6.6 added them)


def test_only_system_wide_uprobes_use_links(monkeypatch: pytest.MonkeyPatch) -> None:
    specs = [_spec("uprobe", path="/bin/true", offset=1), _spec("uretprobe", path="/x", offset=2),
             _spec("uprobe", path="/x", offset=3, pid=1), _spec("usdt", path="/x", offset=4)]
    got = umulti.prepare(specs)
    assert [umulti.uses_link(s) for s in got] == [True, True, False, False]
    assert got[0].attach == specs[0].attach and got[0].name == specs[0].name
    monkeypatch.setenv("PYTRACE_NO_UPROBE_MULTI", "1")
    umulti.supported.cache_clear()
    try:
        assert not any(umulti.uses_link(s) for s in umulti.prepare(specs))
    finally:
        monkeypatch.delenv("PYTRACE_NO_UPROBE_MULTI")
        umulti.supported.cache_clear()


@pytest.mark.parametrize("kind", ["uprobe", "uretprobe"])
def test_a_link_counts_every_call_and_closes_cleanly(binary: Path, kind: str, open_fds) -> None:  # type: ignore[no-untyped-def]
    off = symbol_file_offset(str(binary), "target_fn")
    args = {"path": str(binary), "offset": off, "retprobe": int(kind == "uretprobe")}
    before = open_fds()
    obj = _multi(counting_object(kind, args, ProgType.KPROBE, key="zero", only_me=False))
    with LoadedObject(obj) as lo:
        (att,) = attach_all(lo.programs)
        try:
            assert att.fds == [] and len(att.links) == 1
            assert _link_type(att.links[0]) == f"{kind}_multi"
            subprocess.run([str(binary), "37"], check=False)
            assert total(lo.map_fd("@c"), lo.specs["@c"], bytes(8)) == 37
        finally:
            att.close()
        assert att.links == []
        subprocess.run([str(binary), "5"], check=False)  # detached: no longer counted
        assert total(lo.map_fd("@c"), lo.specs["@c"], bytes(8)) == 37
    assert open_fds() == before


def test_a_missing_site_fails_with_the_link_call_named(binary: Path) -> None:
    from pytrace.runtime.errors import RuntimeFailure

    args = {"path": str(binary), "offset": os.path.getsize(binary) * 4}  # past the end
    obj = _multi(counting_object("uprobe", args, ProgType.KPROBE))
    with LoadedObject(obj) as lo:
        with pytest.raises(RuntimeFailure, match="cannot attach uprobe:test: BPF_LINK_CREATE"):
            attach_all(lo.programs)
