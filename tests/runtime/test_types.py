"""C types against the live kernel: kernel structs read through BTF (curtask, raw
tracepoint args), a user program's structs read through a script's C definitions,
casts, arrays, bools, enums, pointers, sizeof/offsetof, the preamble's macros."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cbuild import build_c
from harness import begin, run

TAIL = "\n\n"

USER_C = r"""
#include <unistd.h>
enum color { RED, GREEN = 5, BLUE };
struct inner { short s; unsigned char b[3]; };
struct point {
    int x; long y; char name[8]; struct inner in;
    unsigned int f1 : 3, f2 : 5; _Bool ok; enum color c; struct point *next;
};
__attribute__((noinline)) int use_point(struct point *p) { return p->x + (int)p->y; }
int main(void) {
    struct point q = {7, -3, "qq", {5, {1, 2, 3}}, 1, 2, 0, BLUE, 0};
    struct point p = {42, -100000, "hello", {-2, {9, 8, 7}}, 5, 17, 1, GREEN, &q};
    for (int i = 0; i < 50; i++) { use_point(&p); usleep(20000); }
    return 0;
}
"""
DEFS = """enum color { RED, GREEN = 5, BLUE };
struct inner { short s; unsigned char b[3]; }
struct point {
  int x; long y; char name[8]; struct inner in;
  unsigned int f1 : 3, f2 : 5; _Bool ok; enum color c; struct point *next;
}
"""


@pytest.fixture(scope="module")
def prog(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_c(tmp_path_factory.mktemp("types"), "points", USER_C, "-O0")


def test_kernel_task_struct_through_btf() -> None:
    out = begin('printf("%d %d %d %s\\n", curtask->pid == pid, curtask->tgid == pid, '
                'curtask->parent->pid > 0, curtask->comm)')
    first = out.split("\n")[0].split()
    assert first[:3] == ["1", "1", "1"] and first[3] == open(
        f"/proc/{os.getpid()}/comm").read().strip()[:15]


def test_dot_auto_dereferences_and_casts() -> None:
    assert begin('$t = (struct task_struct *)curtask; '
                 'printf("%d %d\\n", $t.pid == pid, $t->real_parent->tgid == curtask.parent.tgid)'
                 ) == "1 1\n" + TAIL
    assert begin('printf("%d\\n", curtask->se.vruntime > 0)') == "1\n" + TAIL  # embedded


def test_address_of_and_deref() -> None:
    assert begin('$p = &curtask->pid; printf("%d\\n", *$p == pid)') == "1\n" + TAIL


def test_sizeof_offsetof_of_kernel_types() -> None:
    from pytrace.typetable import TypeTable

    task = TypeTable().lookup("struct task_struct")
    assert task is not None
    pid_off = task.field("pid")[1]  # type: ignore[attr-defined]
    assert begin("print(sizeof(struct task_struct)); print(offsetof(struct task_struct, pid))"
                 ) == f"{task.csize}\n{pid_off}\n" + TAIL


def test_unknown_types_and_fields_suggest_names() -> None:
    from pytrace.diagnostics import CompileError
    from pytrace.driver import compile_source
    from pytrace.options import Options
    from pytrace.source import Source

    def error(text: str) -> tuple[str, tuple[str, ...]]:
        with pytest.raises(CompileError) as err:
            compile_source(Source("stdin", text), Options())
        d = err.value.diagnostics[0]
        return d.message, d.hints

    msg, hints = error("BEGIN { print(sizeof(struct task_strct)); }")
    assert msg == "Unknown struct/union: 'struct task_strct'"
    assert hints and "struct task_struct" in hints[0]
    msg, hints = error("BEGIN { print(curtask->pidd); }")
    assert msg == "Struct/union of type 'struct task_struct' does not contain a field named 'pidd'"
    assert hints and "pid" in hints[0]


def test_user_struct_from_script_definitions(prog: str) -> None:
    text = DEFS + (f"uprobe:{prog}:use_point {{ $p = (struct point *)arg0;\n"
                   '  printf("%d %d %s %d %d %d %d %d\\n", $p->x, $p->y, $p->name, $p->in.s, '
                   "$p->in.b[1], $p->f1, $p->f2, $p->next->x);\n"
                   "  print($p->ok); print($p->c); print($p->in); print(*$p->next); exit(); }")
    r = run(text, child=[prog])
    assert r.code == 0, r.err
    lines = r.out.split("\n")
    assert lines[0] == "42 -100000 hello -2 8 5 17 7"
    assert lines[1:4] == ["true", "GREEN", "{ .s = -2, .b = [9,8,7] }"]
    assert lines[4] == ("{ .x = 7, .y = -3, .name = qq, .in = { .s = 5, .b = [1,2,3] }, "
                        ".f1 = 1, .f2 = 2, .ok = false, .c = BLUE, .next = 0x0 }")


def test_pointers_print_in_hex(prog: str) -> None:
    r = run(DEFS + f"uprobe:{prog}:use_point {{ $p = (struct point *)arg0; "
            "print($p->next); print($p == arg0); exit(); }", child=[prog])
    assert r.code == 0, r.err
    first = r.out.split("\n")[0]
    assert first.startswith("0x") and int(first, 16) > 0


def test_integer_casts_and_unsigned() -> None:
    assert begin("print((int8)300); print((uint16)-1); print((int32)0xffffffff); "
                 "print((uint64)1 - (uint64)2); print(18446744073709551615)") == \
        "44\n65535\n-1\n-1\n18446744073709551615\n" + TAIL
    r = run("BEGIN { @a[18446744073709551615] = 1; exit(); }")
    assert r.out.strip() == "@a[18446744073709551615]: 1"


def test_bools_text_and_json() -> None:
    assert begin("print(true); print(false); print((bool)5)") == "true\nfalse\ntrue\n" + TAIL
    r = run("BEGIN { @b = true; exit(); }", fmt="json")
    assert '{"type": "map", "data": {"@b": true}}' in r.out


def test_array_casts_index_compare() -> None:
    out = begin('$a = (uint8[8])12345; print($a); printf("%x %x %d\\n", $a[0], $a[1], '
                '(uint64)$a); $b = (int8[4])(int32)7; $c = (int8[4])(int32)7; print($b == $c)')
    assert out == "[57,48,0,0,0,0,0,0]\n39 30 12345\n1\n" + TAIL


def test_pointer_arithmetic_scales_by_the_pointee() -> None:
    assert begin("$p = (int32 *)1000; print($p + 2); $q = (struct task_struct *)0; "
                 "print((uint64)($q + 1))") == f"0x3f0\n{_task_size()}\n" + TAIL


def _task_size() -> int:
    from pytrace.typetable import TypeTable

    t = TypeTable().lookup("struct task_struct")
    assert t is not None
    return t.csize


def test_preamble_macros_and_btf_guard() -> None:
    text = ("#ifndef BPFTRACE_HAVE_BTF\n#include <linux/no_such_header_here.h>\n#endif\n"
            "#include <sys/socket.h>\n#define SQUARE(x) ((x) * (x))\n#define GREETING \"hi\"\n"
            'BEGIN { printf("%s %d %d\\n", GREETING, SQUARE(7), AF_INET); exit(); }')
    r = run(text)
    assert r.code == 0, r.err
    assert r.out.split("\n")[0] == "hi 49 2"


def test_missing_header_is_a_clear_error(tmp_path: Path) -> None:
    from pytrace.diagnostics import CompileError
    from pytrace.driver import compile_source
    from pytrace.options import Options
    from pytrace.source import Source

    with pytest.raises(CompileError) as err:
        compile_source(Source("stdin", "#include <no/such.h>\nBEGIN { exit(); }"), Options())
    assert "'no/such.h' file not found" in str(err.value.diagnostics[0].message)


def test_rawtracepoint_args_typed_from_btf(prog: str) -> None:
    r = run("rawtracepoint:sched_switch /args.prev->pid == cpid || args.next->pid == cpid/ "
            '{ printf("%d\\n", args.next->pid > 0 || args.prev->pid > 0); exit(); }',
            child=[prog])
    assert r.code == 0, r.err
    assert r.out.split("\n")[0] == "1"


def test_type_helpers_and_container_of() -> None:
    assert begin("print(is_ptr(curtask)); print(is_integer(pid)); print(is_str(comm)); "
                 "print(is_unsigned_integer((int8)1)); print(is_literal(1)); "
                 "print(is_err((uint64)-2)); print(is_err(curtask))") == \
        "true\ntrue\ntrue\nfalse\ntrue\ntrue\nfalse\n" + TAIL
    assert begin("$p = &curtask->tasks; $t = container_of($p, struct task_struct, tasks); "
                 "printf(\"%d %d\\n\", $t == curtask, $t->pid == pid)") == "1 1\n" + TAIL
    r = run("typedef struct task_struct task_t;\n"
            "BEGIN { $p = &curtask->tasks; $a = container_of($p, task_t, tasks); "
            "$b = container_of($p, typeof(struct task_struct), tasks); "
            "print($a == curtask && $b == curtask); exit(); }")
    assert r.code == 0 and r.out.split("\n")[0] == "1", r.err


def test_casts_to_typedef_names() -> None:
    assert begin("print((u8)300); print((uint64_t)-1); $t = (pid_t)-1; print($t); "
                 "print((pid) > 0)") == "44\n18446744073709551615\n-1\n1\n" + TAIL
    r = run("typedef struct task_struct task_t;\n"
            "BEGIN { $t = (task_t *)curtask; print($t->pid == pid); exit(); }")
    assert r.code == 0 and r.out.split("\n")[0] == "1", r.err


def test_enum_values_by_name() -> None:
    r = run("enum color { RED, GREEN = 5 }\nBEGIN { print(GREEN); print(GREEN + 1); "
            "print(TASK_COMM_LEN); @[RED] = 1; exit(); }")
    assert r.code == 0, r.err
    assert r.out.split("\n")[:3] == ["GREEN", "6", "TASK_COMM_LEN"]
    assert "@[RED]: 1" in r.out
    r = run("enum color { RED, GREEN = 5 }\n"
            'BEGIN { $c = GREEN; printf("%s %d [%-7s]\\n", $c, $c, $c); exit(); }')
    assert r.code == 0 and r.out.split("\n")[0] == "GREEN 5 [GREEN  ]", r.err


def test_include_dirs_from_the_command_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "mydefs.h").write_text("#define FROM_DIR 99\nstruct mine { int a; long b; };\n")
    r = subprocess.run([sys.executable, "-m", "pytrace", "-q", "-I", str(tmp_path), "-e",
                        '#include "mydefs.h"\nBEGIN { print(FROM_DIR); '
                        "print(sizeof(struct mine)); exit(); }"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:2] == ["99", "16"]


def test_user_and_kernel_pointers_in_one_syscall_probe() -> None:
    # naptime-style: args->rqtp is a user pointer (typed from the format file's struct),
    # curtask->real_parent a kernel one; each is read in its own address space.
    text = ("#ifndef BPFTRACE_HAVE_BTF\n#include <linux/time.h>\n#endif\n"
            "tracepoint:syscalls:sys_enter_clock_nanosleep /pid == cpid/ {\n"
            "  $ts = args->rqtp;\n"
            '  printf("%d.%03d %d\\n", $ts->tv_sec, $ts->tv_nsec / 1000000, '
            "curtask->real_parent->pid == cpid || curtask->real_parent->pid > 0);\n"
            "  exit();\n}")
    r = run(text, child=["sleep", "0.25"])
    assert r.code == 0, r.err
    assert r.out.split("\n")[0] == "0.250 1"


def test_cast_pointers_read_kernel_memory_in_a_syscall_probe() -> None:
    # A kernel pointer cast to another pointer type, and an integer computed from one
    # cast back, are read from kernel memory in a syscall tracepoint (its default is
    # user memory only for the args): the parent of the child is this test process.
    text = ("tracepoint:syscalls:sys_enter_clock_nanosleep /pid == cpid/ {\n"
            "  $t = (struct task_struct *)curtask;\n"
            "  $v = (uint64)curtask + offsetof(struct task_struct, tgid);\n"
            "  $again = (struct task_struct *)((uint64)$t - 0);\n"
            '  printf("%d %d %d\\n", $t->real_parent->tgid, *(int32 *)$v == pid,\n'
            "         $again.real_parent.tgid);\n"
            "  exit();\n}")
    r = run(text, child=["sleep", "0.1"])
    assert r.code == 0, r.err
    assert r.out.split("\n")[0] == f"{os.getpid()} 1 {os.getpid()}"
