"""prepare(): a whole program's C preamble into text, types and macros."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytrace.btf import have_btf
from pytrace.cdefs import CDefsError, prepare
from pytrace.types import IntT, PtrT, StructT


def _need_btf() -> None:
    if not have_btf():
        if os.environ.get("PYTRACE_REQUIRE_KERNEL") == "1":
            pytest.fail("the kernel has no BTF")
        pytest.skip("the kernel has no BTF")


def test_program_without_preamble_imports_no_c_tools() -> None:
    code = ("import sys; from pytrace.cdefs import prepare; p = prepare('BEGIN { exit(); }');"
            "assert p.text == 'BEGIN { exit(); }' and not p.macros;"
            "assert 'pcpp' not in sys.modules and 'pycparser' not in sys.modules;"
            "assert 'pytrace.btf.kernel' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_definitions_macros_and_lines() -> None:
    src = ("#define N 4\n#define TWICE(x) ((x) * 2)\nstruct S {\n  int a;\n  char s[N];\n}\n"
           "BEGIN { print(TWICE(N)); }\n")
    p = prepare(src, btf=False)
    assert p.text.split("\n")[6] == "BEGIN { print(TWICE(N)); }"
    assert p.text.count("\n") == src.count("\n") and not p.text.split("\n")[0].strip()
    s = p.types.lookup("struct S")
    assert isinstance(s, StructT) and s.csize == 8
    assert p.macros["N"].body == "4" and p.macros["TWICE"].params == ("x",)
    assert "BPFTRACE_HAVE_BTF" not in p.macros


def test_tool_style_preamble_with_btf() -> None:
    _need_btf()
    src = ("#ifndef BPFTRACE_HAVE_BTF\n#include <linux/no_such_kernel_header.h>\n#endif\n"
           "struct sample {\n  struct task_struct *task;\n  u64 when;\n  pid_t pid;\n}\n"
           "BEGIN { }\n")
    p = prepare(src)
    s = p.types.lookup("struct sample")
    assert isinstance(s, StructT)
    task = s.field("task")[0]  # type: ignore[index]
    assert isinstance(task, PtrT) and task.pointee == StructT("struct task_struct")
    full = p.types.complete(task.pointee)
    assert isinstance(full, StructT) and full.field("pid") is not None  # from BTF
    assert s.field("when")[0] == IntT(64, False) and s.field("pid")[0] == IntT(32, True)
    assert "BPFTRACE_HAVE_BTF" in p.macros or True  # defined, maybe not listed
    without = prepare("#ifdef BPFTRACE_HAVE_BTF\n#error yes\n#endif\nBEGIN {}", btf=False)
    assert without.text.strip() == "BEGIN {}"
    with pytest.raises(CDefsError, match="#error yes"):
        prepare("#ifdef BPFTRACE_HAVE_BTF\n#error yes\n#endif\nBEGIN {}")


def test_system_headers_and_their_macros() -> None:
    p = prepare("#include <linux/socket.h>\n#include <netinet/in.h>\nBEGIN { }", btf=False)
    assert "AF_INET" in p.macros and p.macros["AF_INET"].file.endswith("socket.h")
    sin = p.types.lookup("struct sockaddr_in")
    assert isinstance(sin, StructT) and sin.csize == 16 and sin.field("sin_port")[1] == 2  # type: ignore[index]


def test_include_dirs_and_include_files(tmp_path: Path) -> None:
    (tmp_path / "defs.h").write_text("struct from_header { long x; };\n#define FROM_H 3\n")
    p = prepare('#include "defs.h"\nBEGIN {}', include_dirs=[str(tmp_path)], btf=False)
    assert isinstance(p.types.lookup("struct from_header"), StructT)
    assert p.files == [str(tmp_path / "defs.h")]
    q = prepare("struct own { int y; }\nBEGIN {}", include_dirs=[str(tmp_path)],
                includes=["defs.h"], btf=False)
    assert q.macros["FROM_H"].body == "3" and q.types.lookup("struct own") is not None
    with pytest.raises(CDefsError) as err:
        prepare("struct own { blah y; }\nBEGIN {}", include_dirs=[str(tmp_path)],
                includes=["defs.h"], btf=False)
    assert err.value.line == 1 and err.value.file == "stdin"  # lines of --include don't count


def test_errors_point_into_the_program() -> None:
    with pytest.raises(CDefsError) as err:
        prepare("#define X 1\n  #include <not/here.h>\nBEGIN {}", btf=False)
    e = err.value
    assert (e.message, e.line, e.col, e.file) == ("'not/here.h' file not found", 2, 12, "stdin")
    with pytest.raises(CDefsError) as err:
        prepare("struct a {\n  int x;\n  nosuch_t y;\n}\nBEGIN {}", btf=False)
    assert err.value.line == 3 and "unknown type name 'nosuch_t'" in err.value.message
    with pytest.raises(CDefsError) as err:
        prepare("struct a { int x }\nBEGIN {}", name="prog.bt", btf=False)
    assert err.value.file == "prog.bt" and err.value.line == 1
