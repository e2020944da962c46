"""`__attribute__((packed))` (and `aligned`) in a program's C definitions: a user
program's packed struct read field by field and printed whole, laid out as gcc lays it
out."""

from __future__ import annotations

import pytest
from cbuild import build_c
from harness import run

STRUCTS = """
struct rec { char tag; int value; long big; short tail; } __attribute__((packed));
struct __attribute__((packed)) pair { char a; short b; };
struct wide { char c; int v __attribute__((aligned(8))); };
struct outer { char x; struct rec r; struct pair p[2]; struct wide w; } __attribute__((packed));
"""
USER_C = "#include <unistd.h>\n" + STRUCTS + r"""
__attribute__((noinline)) int use(struct outer *o) { return o->r.value; }
int main(void) {
    struct outer o = {'x', {'t', 123456, -77, 9}, {{1, 300}, {2, -5}}, {'w', 42}};
    for (int i = 0; i < 50; i++) { use(&o); usleep(20000); }
    return 0;
}
"""


@pytest.fixture(scope="module")
def prog(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_c(tmp_path_factory.mktemp("packed"), "packed", USER_C, "-O0")


def test_packed_user_struct(prog: str) -> None:
    r = run(STRUCTS + f"uprobe:{prog}:use {{ $o = (struct outer *)arg0; "
            'printf("%d %d %d %d %d %d %d|%d %d %d\\n", $o->r.value, $o->r.big, $o->r.tail, '
            "$o->p[1].b, $o->w.v, sizeof(struct outer), offsetof(struct outer, w), "
            "sizeof(struct rec), sizeof(struct pair), sizeof(struct wide)); "
            "print(*$o); exit(); }", child=[prog])
    assert r.code == 0, r.err
    first, second = r.out.split("\n")[:2]
    assert first == "123456 -77 9 -5 42 38 22|15 3 16"
    assert second == ("{ .x = 120, .r = { .tag = 116, .value = 123456, .big = -77, .tail = 9 }, "
                      ".p = [{ .a = 1, .b = 300 },{ .a = 2, .b = -5 }], "
                      ".w = { .c = 119, .v = 42 } }")
