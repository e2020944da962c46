"""`uprobe:BIN:cpp:NAME`: C++ methods by demangled name (a glob too), each overload a
probe named by its name without parameters; `func` is the whole demangled name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ENV = dict(os.environ, PYTRACE_NO_CACHE="1")
SRC = r"""
namespace MyApp {
class Server {
public:
    __attribute__((noinline)) int handle_request(int fd) { return fd + 1; }
    __attribute__((noinline)) int handle_request(const char *s) { return s[0]; }
    __attribute__((noinline)) int stop(long why) { return (int)why; }
};
}
int main(int argc, char **) {
    MyApp::Server s;
    int t = 0;
    for (int i = 0; i < 4; i++) t += s.handle_request(i);
    t += s.handle_request("x") + s.stop(argc);
    return t == 0;
}
"""


def pytrace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=60, env=ENV)


@pytest.fixture(scope="module")
def prog(tmp_path_factory: pytest.TempPathFactory) -> str:
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed")
    d: Path = tmp_path_factory.mktemp("cpp")
    (d / "cpp.cc").write_text(SRC)
    subprocess.run(["g++", "-O1", "-o", str(d / "cpp"), str(d / "cpp.cc")], check=True)
    return str(d / "cpp")


def test_methods_by_demangled_name(prog: str) -> None:
    r = pytrace("-e", f'uprobe:{prog}:cpp:"MyApp::Server::handle_request" {{ @[func] = count(); }} '
                      f'uprobe:{prog}:cpp:"MyApp::Server::*" {{ @all[probe] = count(); }}',
                "-c", prog)
    assert r.returncode == 0, r.stderr
    assert "Attached 5 probes" in r.stderr  # 2 overloads, then 2 + stop
    lines = set(r.stdout.splitlines())
    assert {"@[MyApp::Server::handle_request(int)]: 4",
            "@[MyApp::Server::handle_request(char const*)]: 1",
            f"@all[uprobe:{prog}:cpp:MyApp::Server::handle_request]: 5",
            f"@all[uprobe:{prog}:cpp:MyApp::Server::stop]: 1"} <= lines


def test_one_overload_by_its_parameters(prog: str) -> None:
    r = pytrace("-e", f'uprobe:{prog}:cpp:"MyApp::Server::handle_request(int)" '
                      "{ @ = count(); }", "-c", prog)
    assert r.returncode == 0, r.stderr
    assert "@: 4" in r.stdout.splitlines()


def test_no_such_name(prog: str) -> None:
    r = pytrace("-e", f'uprobe:{prog}:cpp:"MyApp::nosuch" {{ }}')
    assert r.returncode == 1 and f"Could not resolve symbol: {prog}:cpp:MyApp::nosuch" in r.stderr
