"""fentry:bpf / fexit:bpf against the live kernel: a program pytrace loads here (one
with a sub-program, so it has BTF and func_info) is listed by id and name, resolved,
typed from its BTF and compiled; attaching is refused in one line on this kernel (no
BPF trampolines) and leaves nothing open; a program without BTF is no target."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from pytrace.diagnostics import CompileError
from pytrace.driver import check_source, generate
from pytrace.listing import listing
from pytrace.passes.context import Options
from pytrace.resources import BPF_TRACE_FENTRY, BPF_TRACE_FEXIT, BpfObject, ProgType
from pytrace.runtime import syscalls as sc
from pytrace.runtime.errors import FeatureUnavailable, RuntimeFailure
from pytrace.runtime.features import check_probe_kind
from pytrace.runtime.loader import LoadedObject
from pytrace.source import Source

REFUSAL = ("probes are not available on this kernel: it does not allow BPF trampolines for "
           "fentry/fexit")
PERIOD = 100_000 + os.getpid() % 800_000  # a probe name no other test run uses


def pytrace(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTRACE_NO_CACHE="1")
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=60, env=env)


def _object(text: str) -> BpfObject:
    return generate(check_source(Source("stdin", text), Options()))[1]


def _trampolines() -> bool:
    try:
        check_probe_kind("fentry")
    except FeatureUnavailable:
        return False
    return True


@dataclass(frozen=True)
class Target:
    """The loaded program: its id, its kernel name and its loop's sub-program name."""

    prog_id: int
    name: str
    sub: str
    plain_id: int  # a program of the same object without BTF (BEGIN: no sub-program)


def _prog_id(fd: int) -> int:
    return int(struct.unpack_from("<I", sc.obj_info(fd), 4)[0])


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    text = (f"BEGIN {{ @m[1] = 1; }} interval:ms:{PERIOD} "
            "{ for ($kv : @m) { printf(\"%d\\n\", $kv.0); } }")
    loaded = LoadedObject(_object(text))  # loaded, never attached: it never runs
    try:
        ids = {p.spec.kind: _prog_id(p.fd) for p in loaded.programs}
        from pytrace.probes.bpfprog import bpf_functions

        funcs = [f for f in bpf_functions() if f.prog_id == ids["interval"]]
        assert [f.main for f in funcs] == [True, False]
        yield Target(ids["interval"], f"interval_ms_{PERIOD}", funcs[1].name, ids["BEGIN"])
    finally:
        loaded.close()


def test_listing_shows_the_program_and_its_subprogram(target: Target) -> None:
    lines = listing("fentry:bpf:*")
    mine = [x for x in lines if x.startswith(f"fentry:bpf:{target.prog_id}:")]
    assert mine == [f"fentry:bpf:{target.prog_id}:{target.name}",
                    f"fentry:bpf:{target.prog_id}:{target.sub}"]
    assert "_for" in target.sub
    ids = [int(x.split(":")[2]) for x in lines]
    assert ids == sorted(ids)
    assert not any(x.startswith(f"fentry:bpf:{target.plain_id}:") for x in lines)


def test_listing_by_id_glob_and_name(target: Target) -> None:
    pid = target.prog_id
    assert listing(f"fexit:bpf:{pid}:*") == [f"fexit:bpf:{pid}:{target.name}",
                                            f"fexit:bpf:{pid}:{target.sub}"]
    assert listing(f"fentry:bpf:{pid}:*_for") == [f"fentry:bpf:{pid}:{target.sub}"]
    assert listing(f"kfunc:bpf:{target.name}") == [f"fentry:bpf:{pid}:{target.name}"]
    assert listing(f"fentry:bpf:{target.plain_id}:*") == []  # no BTF: no target


def test_verbose_listing_shows_parameters_from_the_programs_btf(target: Target) -> None:
    pid = target.prog_id
    assert listing(f"fexit:bpf:{pid}:*", verbose=True) == [
        f"fexit:bpf:{pid}:{target.name}", "    void * ctx", "    long retval",
        f"fexit:bpf:{pid}:{target.sub}", "    void * map", "    void * key",
        "    void * value", "    void * data", "    long retval"]


def test_cli_listing(target: Target) -> None:
    r = pytrace("-l", f"fentry:bpf:{target.prog_id}:*")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"fentry:bpf:{target.prog_id}:{target.name}",
                                     f"fentry:bpf:{target.prog_id}:{target.sub}"]
    r = pytrace("-l", "-e", f"fexit:bpf:{target.prog_id}:{target.name} {{ }}")
    assert r.stdout.splitlines() == [f"fexit:bpf:{target.prog_id}:{target.name}"], r.stderr


def test_listing_leaves_no_fd_open(target: Target, open_fds: Callable[[], int]) -> None:
    from pytrace.probes.bpfprog import program_btf

    program_btf.cache_clear()  # fetch the BTF again, through fds
    before = open_fds()
    assert listing("fentry:bpf:*", verbose=True)
    assert open_fds() == before


def test_resolution_and_compile(target: Target) -> None:
    pid = target.prog_id
    obj = _object(f"fexit:bpf:{target.name} {{ @[probe] = count(); @r = retval; "
                  f"@c = args.ctx; }} fentry:bpf:{pid}:{target.sub} {{ @k = args.key; }}")
    specs = {s.kind: s for s in obj.resources.probes}
    fexit, fentry = specs["fexit"], specs["fentry"]
    assert fexit.name == f"fexit:bpf:{pid}:{target.name}"
    assert fentry.name == f"fentry:bpf:{pid}:{target.sub}"
    for spec, attach_type in ((fexit, BPF_TRACE_FEXIT), (fentry, BPF_TRACE_FENTRY)):
        assert spec.prog_type == ProgType.TRACING
        assert spec.expected_attach_type == attach_type
        assert spec.attach["prog_id"] == pid
        assert int(spec.attach["btf_id"]) > 0
    from pytrace.probes.bpfprog import bpf_functions

    ids = {f.name: f.type_id for f in bpf_functions() if f.prog_id == pid}
    assert fexit.attach["btf_id"] == ids[target.name]
    assert fentry.attach["btf_id"] == ids[target.sub]
    assert obj.elf[:4] == b"\x7fELF"


def test_attr_carries_the_target_program(target: Target) -> None:
    from pytrace.runtime import loader
    from pytrace.runtime.bpfprogs import target_prog_fd

    obj = _object(f"fentry:bpf:{target.prog_id}:{target.sub} {{ @ = count(); }}")
    spec = obj.resources.probes[0]
    fd = target_prog_fd(int(spec.attach["prog_id"]), int(spec.attach["prog_btf_id"]),
                        spec.name)
    try:
        attr = loader._prog_attr(spec, sc.Buffer(8), 1, sc.cstr("GPL"), None, fd)
        prog_type, = struct.unpack_from("<I", attr, 0)
        attach_type, = struct.unpack_from("<I", attr, 68)
        btf_id, prog_fd = struct.unpack_from("<II", attr, 108)
        assert (prog_type, attach_type) == (ProgType.TRACING, BPF_TRACE_FENTRY)
        assert (btf_id, prog_fd) == (spec.attach["btf_id"], fd)
        assert _prog_id(fd) == target.prog_id
    finally:
        os.close(fd)


def test_cli_dry_run_and_emit_elf(target: Target, tmp_path: os.PathLike[str]) -> None:
    out = os.path.join(tmp_path, "prog.o")
    text = f"fentry:bpf:{target.prog_id}:{target.name} {{ printf(\"%p\\n\", args.ctx); }}"
    r = pytrace("--dry-run", "-e", text)
    assert (r.returncode, r.stderr) == (0, "")
    r = pytrace("--dry-run", "--emit-elf", out, "-e", text)
    assert r.returncode == 0, r.stderr
    with open(out, "rb") as f:
        assert f.read(4) == b"\x7fELF"


def test_missing_program_is_a_located_error(target: Target) -> None:
    r = pytrace("--dry-run", "-e", "fentry:bpf:nosuch_pytrace_prog { }")
    assert r.returncode == 1
    assert r.stderr.splitlines()[:3] == [
        "stdin:1:1-31: ERROR: No running BPF program with BTF has a function named "
        "nosuch_pytrace_prog (fentry:bpf:nosuch_pytrace_prog)",
        "fentry:bpf:nosuch_pytrace_prog { }", "~" * 30]
    with pytest.raises(CompileError, match=f"BPF program {target.plain_id} has no function"):
        _object(f"fentry:bpf:{target.plain_id}:BEGIN {{ }}")


def test_missing_probes_warn_skips_a_missing_program(target: Target) -> None:
    text = ("config = { missing_probes = \"warn\" } fentry:bpf:nosuch_pytrace_* { } "
            f"fexit:bpf:{target.prog_id}:{target.name} {{ @ = count(); }}")
    checked = check_source(Source("stdin", text), Options())
    assert [d.message for d in checked.diagnostics] == [
        "No running BPF program with BTF matches fentry:bpf:nosuch_pytrace_*"]
    assert [t.name for c in checked.probes for t in c.live] == [
        f"fexit:bpf:{target.prog_id}:{target.name}"]


def test_cli_run_is_refused_in_one_line(target: Target) -> None:
    if _trampolines():
        pytest.skip("this kernel allows BPF trampolines")
    r = pytrace("-e", f"fexit:bpf:{target.prog_id}:{target.name} {{ @ = count(); }}")
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.splitlines() == [r.stderr.strip()], r.stderr
    assert r.stderr.startswith(f"ERROR: fexit {REFUSAL}"), r.stderr


def test_load_is_refused_and_closes_everything(target: Target,
                                               open_fds: Callable[[], int]) -> None:
    """The load itself (no feature check before it) names the missing trampolines and
    closes the target program's fd and the maps."""
    if _trampolines():
        pytest.skip("this kernel allows BPF trampolines")
    obj = _object(f"fentry:bpf:{target.prog_id}:{target.sub} {{ @ = count(); }}")
    before = open_fds()
    with pytest.raises(FeatureUnavailable) as exc:
        LoadedObject(obj)
    assert str(exc.value).startswith(f"fentry {REFUSAL} (loading the program for "
                                     f"fentry:bpf:{target.prog_id}:{target.sub}")
    assert open_fds() == before


def test_a_program_gone_since_compiling_is_one_error(open_fds: Callable[[], int]) -> None:
    short = LoadedObject(_object(f"BEGIN {{ @m[1] = 1; }} interval:ms:{PERIOD + 1} "
                                 "{ for ($kv : @m) { @n = $kv.1; } }"))
    try:
        pid = next(_prog_id(p.fd) for p in short.programs if p.spec.kind == "interval")
        obj = _object(f"fentry:bpf:{pid}:interval_ms_{PERIOD + 1} {{ @ = count(); }}")
    finally:
        short.close()
    before = open_fds()
    with pytest.raises(RuntimeFailure, match=f"BPF program {pid} is no longer loaded"):
        LoadedObject(obj)
    assert open_fds() == before


def test_attach_creates_a_link_of_the_attach_type(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where trampolines work, a bpf-variant program is attached by BPF_LINK_CREATE
    (target_fd 0: the target was given at load); here the kernel's refusal of it is
    the same one line as for kernel functions."""
    import errno

    from pytrace.resources import ProbeSpec
    from pytrace.runtime import attach

    calls: list[tuple[int, bytes]] = []

    def link(cmd: int, attr: bytearray, what: str = "") -> int:
        calls.append((cmd, bytes(attr[:12])))
        if len(calls) > 1:
            raise OSError(errno.EPERM, "refused")
        return os.dup(0)

    monkeypatch.setattr(attach, "check_probe_kind", lambda kind: None)
    monkeypatch.setattr(attach.sc, "bpf", link)
    spec = ProbeSpec(0, "fexit:bpf:12:f", "fexit", "probe_0", ProgType.TRACING,
                     {"func": "f", "btf_id": 5, "prog_id": 12, "prog_btf_id": 7},
                     BPF_TRACE_FEXIT)
    att = attach._fentry(spec, 77)
    att.close()
    assert calls == [(sc.LINK_CREATE, struct.pack("<III", 77, 0, BPF_TRACE_FEXIT))]
    with pytest.raises(FeatureUnavailable, match=f"fexit {REFUSAL} \\(attaching fexit:bpf:12:f"):
        attach._fentry(spec, 77)
    kernel = ProbeSpec(0, "fentry:vfs_read", "fentry", "probe_0", ProgType.TRACING,
                       {"func": "vfs_read", "btf_id": 1}, BPF_TRACE_FENTRY)
    calls.clear()
    attach._fentry(kernel, 78).close()
    assert calls[0][0] == sc.RAW_TRACEPOINT_OPEN



def _fd_prog_ids(pid: int) -> set[int]:
    """The ids of the BPF programs process `pid` holds (from its fds' fdinfo)."""
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                out |= {int(line.split()[1]) for line in f if line.startswith("prog_id:")}
        except OSError:
            continue
    return out


def test_a_running_pytrace_is_listed_and_targeted() -> None:
    """A pytrace process of its own: its probe (with a loop, so with BTF) is listed
    under the id the process holds, by its whole name, and a second pytrace compiles a
    probe on it."""
    import signal

    text = ("BEGIN { @m[1] = 1; } tracepoint:syscalls:sys_enter_getppid "
            f"/pid == {os.getpid()}/ {{ for ($kv : @m) {{ @n = $kv.1; }} }}")
    env = dict(os.environ, PYTRACE_NO_CACHE="1")
    child = subprocess.Popen([sys.executable, "-m", "pytrace", "-e", text], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    name = "tracepoint_syscalls_sys_enter_getppid"
    try:
        found: list[int] = []
        for _ in range(600):  # until the child has loaded its programs (or exited)
            ids = [int(x.split(":")[2]) for x in listing(f"fentry:bpf:{name}")]
            found = [i for i in ids if i in _fd_prog_ids(child.pid)]
            if found or child.poll() is not None:
                break
            time.sleep(0.05)
        (pid,) = found
        assert listing(f"fentry:bpf:{pid}:*")[0] == f"fentry:bpf:{pid}:{name}"
        r = pytrace("--dry-run", "-e", f"fexit:bpf:{pid}:{name} {{ @[probe] = count(); }}")
        assert (r.returncode, r.stderr) == (0, "")
    finally:
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    assert err.startswith("Attached 2 probes") and "@m[1]: 1" in out, (out, err)
