"""Struct layout against the C compiler's own sizeof/offsetof (gcc, when installed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pytrace.cdefs import prepare
from pytrace.cdefs.layout import layout_struct
from pytrace.types import BitfieldT, IntT, StructT

DEFS = """
struct inner { char c; short s; };
struct layout {
    char a;
    int b;
    char c;
    long d;
    unsigned int f1 : 3, f2 : 7;
    unsigned char f3 : 4;
    int : 0;
    char e;
    struct inner in;
    char name[5];
    short arr[3];
    union { int ui; char uc[6]; } u;
    unsigned long long f4 : 40, f5 : 30;
    void *p;
};
"""
FIELDS = ["a", "b", "c", "d", "e", "in", "name", "arr", "u", "p"]


def test_simple_layouts() -> None:
    s = layout_struct("struct s", [("a", IntT(8, True), None), ("b", IntT(32, True), None),
                                   ("c", IntT(16, True), None)])
    assert [f[2] for f in s.fields] == [0, 4, 8] and s.csize == 12 and s.calign == 4
    u = layout_struct("union u", [("a", IntT(8, True), None), ("b", IntT(64, True), None)],
                      union=True)
    assert [f[2] for f in u.fields] == [0, 0] and u.csize == 8
    bits = layout_struct("struct b", [("x", IntT(32, False), 31), ("y", IntT(32, False), 2)])
    assert bits.fields[1] == ("y", BitfieldT(32, False, 0, 2), 4) and bits.csize == 8


def test_layout_matches_gcc(tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    prints = "".join(f'printf("%zu\\n", offsetof(struct layout, {f}));' for f in FIELDS)
    src = tmp_path / "l.c"
    src.write_text("#include <stdio.h>\n#include <stddef.h>\n" + DEFS +
                   "int main(void) {" + prints +
                   'printf("%zu %zu\\n", sizeof(struct layout), _Alignof(struct layout));'
                   "return 0; }\n")
    subprocess.run(["gcc", "-o", str(tmp_path / "l"), str(src)], check=True)
    got = subprocess.run([str(tmp_path / "l")], capture_output=True, text=True).stdout.split()
    t = prepare(DEFS + "BEGIN {}", btf=False).types.lookup("struct layout")
    assert isinstance(t, StructT)
    mine = [t.field(f)[1] for f in FIELDS] + [t.csize, t.calign]  # type: ignore[index]
    assert [int(x) for x in got] == mine


def test_bitfields_read_back_as_gcc_wrote_them(tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    values = {"f1": 5, "f2": 99, "f3": 9, "f4": 123456789012, "f5": 777777}
    sets = "".join(f"v.{k} = {x}ULL;" for k, x in values.items())
    src = tmp_path / "b.c"
    src.write_text("#include <stdio.h>\n#include <string.h>\n" + DEFS +
                   "int main(void) { struct layout v; memset(&v, 0, sizeof v);" + sets +
                   "unsigned char *p = (unsigned char *)&v;"
                   'for (size_t i = 0; i < sizeof v; i++) printf("%02x", p[i]);'
                   "return 0; }\n")
    subprocess.run(["gcc", "-o", str(tmp_path / "b"), str(src)], check=True)
    raw = bytes.fromhex(subprocess.run([str(tmp_path / "b")], capture_output=True,
                                       text=True).stdout)
    t = prepare(DEFS + "BEGIN {}", btf=False).types.lookup("struct layout")
    assert isinstance(t, StructT)
    for name, want in values.items():
        ft, off = t.field(name)  # type: ignore[misc]
        assert isinstance(ft, BitfieldT)
        word = int.from_bytes(raw[off:off + ft.load_size], "little")
        assert ft.extract(word) == want, name


ATTR_DEFS = """
struct pk1 { char a; int b; long c; } __attribute__((packed));
struct __attribute__((packed)) pk2 { char a; short b; };
typedef struct { char a; int b; } __attribute__((__packed__)) pk3;
struct al1 { char a; int b __attribute__((aligned(8))); };
struct pm1 { char a; int b __attribute__((packed)); char c; };
struct al2 { char a; } __attribute__((aligned(16)));
struct pm2 { char a; int b __attribute__((packed, aligned(2))); };
#define __packed __attribute__((packed))
struct pk4 { char a; unsigned int f : 4; long x; } __packed;
"""
ATTR_CHECKS = [("struct pk1", "c"), ("struct pk2", "b"), ("pk3", "b"), ("struct al1", "b"),
               ("struct pm1", "c"), ("struct al2", "a"), ("struct pm2", "b"),
               ("struct pk4", "x")]


def test_attributes_match_gcc(tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    prints = "".join(f'printf("%zu %zu %zu\\n", sizeof({t}), _Alignof({t}), offsetof({t}, {f}));'
                     for t, f in ATTR_CHECKS)
    src = tmp_path / "a.c"
    src.write_text("#include <stdio.h>\n#include <stddef.h>\n" + ATTR_DEFS +
                   "int main(void) {" + prints + "return 0; }\n")
    subprocess.run(["gcc", "-o", str(tmp_path / "a"), str(src)], check=True)
    want = subprocess.run([str(tmp_path / "a")], capture_output=True, text=True).stdout
    table = prepare(ATTR_DEFS + "BEGIN {}", btf=False).types
    got = []
    for name, field in ATTR_CHECKS:
        t = table.lookup(name)
        assert isinstance(t, StructT), name
        found = t.field(field)
        assert found is not None
        got.append(f"{t.csize} {t.calign} {found[1]}\n")
    assert "".join(got) == want
    assert [f[0] for f in table.lookup("struct pk1").fields] == ["a", "b", "c"]
