"""Wide user-space targets through the ELF scan cache, end to end: `-l 'usdt:*:*'` is
bpftrace's output byte for byte, cold and warm; uprobes expanded from the cache attach
the same sites and count the same calls as a cold run."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cbuild import build_c

LISTING = "usdt:*:*"


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ, XDG_CACHE_HOME=str(home))
    env.pop("PYTRACE_NO_CACHE", None)
    return env


def _pytrace(home: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=300, env=_env(home), cwd=cwd)


def test_usdt_listing_of_path_is_bpftraces_cold_and_warm(tmp_path: Path) -> None:
    if shutil.which("bpftrace") is None:
        pytest.skip("bpftrace is not installed")
    cwd = tmp_path / "cwd"  # bpftrace 0.17 also looks at the current directory's files
    cwd.mkdir()
    want = subprocess.run(["bpftrace", "-l", LISTING], capture_output=True, text=True,
                          timeout=300, cwd=cwd).stdout
    cold = _pytrace(tmp_path / "cache", cwd, "-l", LISTING)
    assert cold.returncode == 0, cold.stderr
    assert (tmp_path / "cache" / "pytrace" / "userscan" / "files.json").is_file()
    warm = _pytrace(tmp_path / "cache", cwd, "-l", LISTING)
    assert cold.stdout == warm.stdout == want
    assert cold.stderr == warm.stderr == ""


PROGRAM = r"""
#include <stdlib.h>
__attribute__((noinline)) int scanned_fn(int x) { __asm__ volatile(""); return x + 1; }
int main(int argc, char **argv) {
    int n = atoi(argv[1]), s = 0;
    for (int i = 0; i < n; i++) s += scanned_fn(i);
    return s == -1;
}
"""


def test_uprobes_expanded_from_the_scan_cache_attach_the_same(tmp_path: Path) -> None:
    d = tmp_path / "bin"
    d.mkdir()
    for name in ("one", "two"):
        build_c(d, name, PROGRAM, "-O1")
    prog = (f'uprobe:{d}/*:scanned_fn /comm == "one" || comm == "two"/ '
            '{ @[probe] = count(); }')
    home = tmp_path / "cache"
    runs = []
    for variant in ("cold", "warm", "scan cache only"):
        if variant == "scan cache only":
            for obj in glob.glob(str(home / "pytrace" / "*.bpfo")):
                os.unlink(obj)
        r = _pytrace(home, tmp_path, "-e", prog, "-c", f"{d}/one 7")
        assert r.returncode == 0, r.stderr
        runs.append((r.stdout, r.stderr))
    assert runs[0] == runs[1] == runs[2]
    out, err = runs[0]
    assert "Attached 2 probes" in err
    assert f"@[uprobe:{d}/one:scanned_fn]: 7" in out
    assert "two:scanned_fn" not in out  # attached but never run
