"""Which files a uprobe/usdt target names: paths, commands, library names, globs,
archive members, and -p processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from pytrace.probes import ldcache, userpaths
from pytrace.probes.base import ProbeError
from pytrace.probes.userpaths import Binary, resolve

MAIN = "int main(void) { return 0; }\n"
LIB = "int lib_fn(int x) { return x + 1; }\n"

Build = Callable[..., str]  # the `cc` fixture (tests/probes/conftest.py)


def libc_path() -> str:
    return dict(ldcache.entries())["libc.so.6"]


def test_library_stems() -> None:
    assert userpaths.library_stem("libc") == "c"
    assert userpaths.library_stem("libssl.so.3") == "ssl.so.3"
    assert userpaths.library_stem("c") is None  # bpftrace: not a library name
    assert userpaths.library_stem("/lib/libc.so.6") is None
    assert userpaths.library_stem("lib") is None


@pytest.mark.parametrize(("stem", "name", "ok"), [
    ("c", "libc.so.6", True), ("c", "libc.so", True), ("c", "libcap.so.2", False),
    ("ssl.so.3", "libssl.so.3", True), ("ssl.so.3", "libssl.so.59", False),
    ("c.so", "libc.so.6", True), ("m", "libmvec.so.1", False),
])
def test_soname_matching(stem: str, name: str, ok: bool) -> None:
    assert userpaths._soname_matches(stem, name) is ok


def test_library_names_resolve_through_the_linker_cache() -> None:
    libc = libc_path()
    assert resolve("uprobe", "libc") == [Binary(libc, libc)]
    assert resolve("uprobe", "libc.so.6") == [Binary(libc, libc)]


def test_library_path_and_standard_dirs(tmp_path: Path, cc: Build,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    lib = cc("libpytracetest.so.1", LIB, "-shared", "-fPIC")
    monkeypatch.setenv("LD_LIBRARY_PATH", str(tmp_path))
    assert resolve("uprobe", "libpytracetest")[0].path == lib
    assert resolve("uprobe", "libpytracetest.so.1")[0].path == lib
    monkeypatch.delenv("LD_LIBRARY_PATH")
    with pytest.raises(ProbeError) as info:
        resolve("uprobe", "libpytracetest")
    assert info.value.message == ("uprobe target file 'libpytracetest' does not exist or "
                                  "is not executable")


def test_commands_come_from_path(tmp_path: Path, cc: Build,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    prog = cc("pytrace_cmd", MAIN)
    monkeypatch.setenv("PATH", f"/nonexistent:{tmp_path}")
    assert resolve("uprobe", "pytrace_cmd") == [Binary(prog, prog)]
    monkeypatch.chdir(tmp_path)
    assert resolve("usdt", "./pytrace_cmd") == [Binary("./pytrace_cmd", "./pytrace_cmd")]


def test_only_executables_and_shared_objects(tmp_path: Path, cc: Build) -> None:
    prog = cc("noexec", MAIN, "-no-pie")  # ET_EXEC: needs execute permission
    os.chmod(prog, 0o644)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    for target in (prog, str(text), str(tmp_path / "missing")):
        with pytest.raises(ProbeError) as info:
            resolve("usdt", target)
        assert info.value.message.startswith(f"usdt target file '{target}' does not exist")
    assert resolve("uprobe", str(text), unsafe=True) == [Binary(str(text), str(text))]
    obj = cc("obj.so", LIB, "-shared", "-fPIC")
    os.chmod(obj, 0o644)  # shared objects need no execute permission
    assert resolve("uprobe", obj)[0].path == obj


def test_globs(tmp_path: Path, cc: Build) -> None:
    a, b = cc("gl_a", MAIN), cc("gl_b", MAIN)
    (tmp_path / "gl_c.txt").write_text("not elf")
    found = resolve("uprobe", str(tmp_path / "gl_*"))
    assert [x.path for x in found] == [a, b]
    with pytest.raises(ProbeError):
        resolve("uprobe", str(tmp_path / "zz_*"))


def test_archive_members(tmp_path: Path, cc: Build) -> None:
    lib = cc("libin.so", LIB, "-shared", "-fPIC")
    z = tmp_path / "app.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("README", "readme")
        zf.write(lib, "lib/libin.so", compress_type=zipfile.ZIP_STORED)
    (b,) = resolve("uprobe", f"{z}!/lib/libin.so")
    assert (b.shown, b.path) == (f"{z}!/lib/libin.so", str(z))
    assert z.read_bytes()[b.base:b.base + 4] == b"\x7fELF"
    with pytest.raises(ProbeError):
        resolve("uprobe", f"{z}!/README")  # not an ELF file


def test_star_needs_processes_and_finds_their_files() -> None:
    found = resolve("uprobe", "*", os.getpid())
    paths = {b.path for b in found}
    assert os.path.realpath(sys.executable) in paths or any("python" in p for p in paths)
    assert libc_path() in paths or any("libc.so" in p for p in paths)


def test_a_process_s_own_libraries_win(cc: Build) -> None:
    # this process maps the libc it really uses
    (b,) = resolve("uprobe", "libc", os.getpid())
    with open(f"/proc/{os.getpid()}/maps") as f:
        assert b.path in f.read()


@pytest.mark.skipif(shutil.which("unshare") is None or os.geteuid() != 0,
                    reason="needs unshare and root")
def test_another_mount_namespace(tmp_path: Path, cc: Build) -> None:
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    prog = cc("nsmain", "#include <unistd.h>\nint main(void) { char c; "
              "return read(0, &c, 1) < 0; }\n")
    os.rename(prog, src / "nsmain")
    inner = mnt / "nsmain"
    child = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c",
                              f"mount --bind {src} {mnt} && exec {inner}"],
                             stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30  # a loaded machine may take seconds to get there
        while time.monotonic() < deadline:
            try:  # exec'd and mapped (the exe link changes before the mappings do)
                if os.readlink(f"/proc/{child.pid}/exe").endswith("nsmain") and \
                        str(inner) in Path(f"/proc/{child.pid}/maps").read_text():
                    break
            except OSError:
                pass
            time.sleep(0.01)
        assert userpaths.other_mount_ns(child.pid) and not inner.exists()
        seen = f"/proc/{child.pid}/root{inner}"
        assert resolve("uprobe", str(inner), child.pid) == [Binary(seen, seen)]
        assert seen in {b.path for b in resolve("uprobe", "*", child.pid)}
        with pytest.raises(ProbeError):
            resolve("uprobe", str(inner))  # not in our namespace
    finally:
        child.communicate(b"x", timeout=10)
