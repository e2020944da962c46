"""Separate debug files: found by build id and by .gnu_debuglink (with its CRC), their
full symbol table added to a stripped file's functions, their DWARF used for `-lv`."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pytrace.listing.dwarf import function_params
from pytrace.probes import debugfile
from pytrace.probes.elfsyms import image, lookup

SRC = r"""
static __attribute__((noinline)) int hidden_add(int left, long right) { return left + right; }
int visible(int x) { return hidden_add(x, 2); }
int main(int argc, char **argv) { return visible(argc) == 3 ? 0 : 1; }
"""

Build = Callable[..., str]


def _objcopy(*args: str) -> None:
    if shutil.which("objcopy") is None:
        pytest.skip("binutils (objcopy) is not installed")
    subprocess.run(["objcopy", *args], check=True, capture_output=True)


def _split(cc: Build, link: bool) -> tuple[str, str]:
    """A -g binary whose symbols and DWARF were moved to NAME.debug beside it."""
    path = cc("split", SRC, "-g", "-Wl,--build-id", "-rdynamic")
    debug = path + ".debug"
    _objcopy("--only-keep-debug", path, debug)
    _objcopy("--strip-all", path)
    if link:
        _objcopy(f"--add-gnu-debuglink={debug}", path)
    return path, debug


def _build_id(path: str) -> str:
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
    return next(ln.split(":", 1)[1].strip() for ln in out.splitlines() if "Build ID" in ln)


def test_debuglink_beside_the_file(cc: Build) -> None:
    path, debug = _split(cc, link=True)
    assert debugfile.debug_file(path) == debug
    img = image(path)
    assert "hidden_add" in img.functions and img.has_symtab  # a local: only in .symtab
    assert img.functions["hidden_add"].size > 0
    assert "hidden_add" in lookup(path, 0, "hidden_add").functions
    assert function_params(path, "hidden_add", img.functions["hidden_add"].addr) == \
        ["int left", "long int right"]


def test_a_stale_debuglink_is_ignored(cc: Build) -> None:
    path, debug = _split(cc, link=True)
    with open(debug, "ab") as f:
        f.write(b"changed")  # the CRC no longer matches
    assert debugfile.debug_file(path) is None
    assert "hidden_add" not in image(path).functions and not image(path).has_symtab


def test_build_id_directory(cc: Build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, debug = _split(cc, link=False)
    build_id = _build_id(path)
    where = tmp_path / "debug" / ".build-id" / build_id[:2]
    where.mkdir(parents=True)
    shutil.move(debug, where / f"{build_id[2:]}.debug")
    monkeypatch.setattr(debugfile, "DEBUG_ROOT", str(tmp_path / "debug"))
    assert debugfile.debug_file(path) == str(where / f"{build_id[2:]}.debug")


def test_no_debug_file(cc: Build) -> None:
    path = cc("plain", SRC)
    _objcopy("--strip-all", path)
    assert debugfile.debug_file(path) is None
    assert function_params(path, "visible") is None


def test_versioned_names_attach_once(cc: Build) -> None:
    """A versioned .symtab name is found as written, but a wildcard that also matches
    its plain name gives one probe per function."""
    from pytrace.probes import expand

    src = ('__asm__(".symver impl_v2, vfunc@@VERS_2");\n'
           "__attribute__((noinline, used)) int impl_v2(int x) { return x + 2; }\n"
           "int main(void) { return 0; }\n")
    d = Path(cc("ver_dummy", "int main(void) { return 0; }\n")).parent
    (d / "ver.map").write_text("VERS_2 { global: vfunc; };\n")
    path = cc("ver", src, "-shared", "-fPIC", f"-Wl,--version-script={d / 'ver.map'}")
    img = image(path)
    assert "vfunc@@VERS_2" in img.functions and "vfunc" in img.functions
    assert [t.func for t in expand(f"uprobe:{path}:vfunc*")] == ["vfunc"]
    (t,) = expand(f"uprobe:{path}:vfunc@@VERS_2")
    assert t.attach["offset"] == expand(f"uprobe:{path}:vfunc")[0].attach["offset"]
