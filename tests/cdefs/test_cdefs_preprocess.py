"""pcpp set up as a compiler: search path, target macros, GNU extensions, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytrace.cdefs.errors import CDefsError
from pytrace.cdefs.preprocess import preprocess, system_include_dirs


def test_macros_and_conditionals() -> None:
    out, macros = preprocess("#define N 4\n#define F(x, y) ((x) * (y))\n#ifdef N\nint a[N];\n"
                             "#else\nint b;\n#endif\n#if __x86_64__ && __SIZEOF_LONG__ == 8\n"
                             "int c;\n#endif\n", "stdin")
    assert "int a[4];" in out and "int b" not in out and "int c;" in out
    assert macros["N"].params is None and macros["N"].body == "4"
    assert macros["F"].params == ("x", "y") and macros["F"].body == "((x) * (y))"
    assert macros["F"].line == 2
    assert "__x86_64__" not in macros  # predefined macros are not the program's


def test_defines_from_the_caller() -> None:
    out, macros = preprocess("#ifdef BPFTRACE_HAVE_BTF\nint yes;\n#endif\n", "stdin",
                             defines={"BPFTRACE_HAVE_BTF": "1"})
    assert "int yes;" in out and "BPFTRACE_HAVE_BTF" in macros


def test_gnu_extensions_are_defined_away() -> None:
    out, _ = preprocess("struct s { int x; } __attribute__((packed));\n"
                        "__extension__ typedef long long ll;\nint f(void) __asm__(\"g\");\n",
                        "stdin")
    assert "__attribute__" not in out and "__extension__" not in out and "__asm__" not in out


def test_include_dirs_and_system_headers(tmp_path: Path) -> None:
    (tmp_path / "mine.h").write_text("#define MINE 7\nstruct mine { int m; };\n")
    out, macros = preprocess('#include "mine.h"\n#include <mine.h>\n', "stdin", [str(tmp_path)])
    assert macros["MINE"].body == "7" and "struct mine" in out
    assert "/usr/include" in system_include_dirs()
    out, macros = preprocess("#include <linux/types.h>\n", "stdin")
    assert "__u64" in out


def test_missing_header_names_the_file() -> None:
    with pytest.raises(CDefsError) as err:
        preprocess("\n#include <no/such/header.h>\n", "stdin")
    assert "'no/such/header.h' file not found" in err.value.message and err.value.line == 2


def test_error_directive() -> None:
    with pytest.raises(CDefsError) as err:
        preprocess("#define X 1\n#error stop here\n", "stdin")
    assert err.value.message == "#error stop here" and err.value.line == 2


def test_unknown_directive_in_the_program_is_refused() -> None:
    # `# comment` lines (shell style) are not comments in a bpftrace script
    with pytest.raises(CDefsError) as info:
        preprocess("#define A 1\n# probe definitions\n", "prog.bt")
    assert info.value.args[0] == "invalid preprocessing directive"


def test_compiler_directives_and_the_null_directive_are_accepted(tmp_path: Path) -> None:
    header = tmp_path / "h.h"
    header.write_text("#ident \"x\"\n#frobnicate\n#define B 2\n")  # a header's own: dropped
    out, macros = preprocess(f'// c\n#!/usr/bin/env bpftrace\n#pragma once\n#\n'
                             f'#include "{header}"\n', "prog.bt")
    assert "B" in macros
