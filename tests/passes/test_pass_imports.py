"""The imports pass: paths relative to the importing script, .bt merged (imports
first), .h as includes, directories, duplicates, refusals."""

from __future__ import annotations

import os
from pathlib import Path

from pytrace.parser import parse
from pytrace.passes import check
from pytrace.passes.context import CheckedProgram, Options
from pytrace.source import Source


def check_file(path: Path) -> CheckedProgram:
    source = Source(str(path), path.read_text())
    program, diags = parse(source)
    assert program is not None, diags
    return check(program, source, Options())


def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    tmp_path.chmod(0o755)
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return tmp_path


def test_relative_to_the_importing_script_and_nested(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        "main.bt": 'import "lib/a.bt";\nbegin { one!(); }',
        "lib/a.bt": 'import "b.bt";\nmacro one() { two() - 1 }\nbegin { }',
        "lib/b.bt": "macro two() { 2 }\nlet @m = hash(4);\nend { }",
    })
    cp = check_file(root / "main.bt")
    assert not cp.diagnostics.has_errors, [d.message for d in cp.diagnostics]
    kinds = [p.attach_points[0].raw for p in cp.program.probes]
    assert kinds == ["end", "begin", "begin"]  # deepest import first
    assert cp.imported_files == [str(root / "lib/a.bt"), str(root / "lib/b.bt")]
    assert "@m" in cp.map_decls


def test_each_file_once_and_directories(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        "main.bt": 'import "d";\nimport "d/x.bt";\nimport "./d/x.bt";\nbegin { }',
        "d/x.bt": "begin { }", "d/y.bt": "begin { }", "d/t.h": "struct s { int a; };",
        "d/readme.txt": "not imported",
    })
    cp = check_file(root / "main.bt")
    assert len(cp.program.probes) == 3
    assert cp.type_table.lookup("struct s") is not None  # the header's definitions
    assert str(root / "d/t.h") in cp.headers


def test_an_imported_script_s_c_preamble_is_read(tmp_path: Path) -> None:
    root = tree(tmp_path, {"main.bt": 'import "lib.bt";\nbegin { print(limit()); }',
                           "lib.bt": "#define LIMIT 42\nstruct pair { int a; int b; };\n"
                                     "macro limit() { LIMIT + sizeof(struct pair) }\n"})
    cp = check_file(root / "main.bt")
    assert not cp.diagnostics.has_errors, [d.message for d in cp.diagnostics]
    assert cp.type_table.lookup("struct pair") is not None


def test_errors_point_into_the_imported_file(tmp_path: Path) -> None:
    root = tree(tmp_path, {"main.bt": 'import "bad.bt";\nbegin { }',
                           "bad.bt": "begin {\n  print($nope);\n}"})
    cp = check_file(root / "main.bt")
    (err,) = cp.diagnostics.errors
    assert err.message == "Undefined or undeclared variable: $nope"
    assert err.span is not None and err.span.source is not None
    assert err.span.source.name == str(root / "bad.bt") and err.span.line == 2


def test_refusals(tmp_path: Path) -> None:
    root = tree(tmp_path, {"main.bt": 'import "missing.bt";\nimport "c.bt";\n'
                                      'import "f.bpf.c";\nimport "open";\nbegin { }',
                           "c.bt": "config = { max_map_keys = 1 }\nbegin { }",
                           "f.bpf.c": "int f(void) { return 0; }",
                           "open/x.bt": "begin { }"})
    os.chmod(root / "open", 0o777)
    cp = check_file(root / "main.bt")
    msgs = [d.message for d in cp.diagnostics.errors]
    assert msgs[0] == f"cannot import '{root / 'missing.bt'}': No such file or directory"
    assert msgs[1] == "an imported script cannot have a config block (only the main script can)"
    assert "BPF C sources need a C compiler" in msgs[2]
    assert msgs[3] == f"refusing to import from the world-writable directory '{root / 'open'}'"
