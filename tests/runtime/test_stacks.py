"""kstack/ustack (map keys and printf), their limits, ksym/usym, against the live kernel;
user stacks of a C program built with frame pointers are checked against bpftrace."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from cbuild import build_c
from harness import run

from pytrace.driver import compile_source
from pytrace.passes.context import Options
from pytrace.runtime.symbols import SymbolTable, kernel_symbols, ksym
from pytrace.source import Source

PROG = r"""
#include <unistd.h>
__attribute__((noinline)) int leaf(int x) { return x * 2; }
__attribute__((noinline)) int middle(int x) { return leaf(x + 1) + 1; }
__attribute__((noinline)) int top(int x) { return middle(x) + 1; }
__attribute__((noinline)) int take(int (*f)(int)) { return f(1); }
int main(void) {
    for (int i = 0; i < 3; i++) { top(i); take(leaf); usleep(20000); }
    return 0;
}
"""
FRAME = re.compile(r"^[A-Za-z_.$][\w.$@]*\+\d+$")


@pytest.fixture(scope="module")
def prog(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_c(tmp_path_factory.mktemp("stacks"), "prog", PROG, "-g", "-O0", "-fno-omit-frame-pointer")


def _printed_stacks(out: str) -> list[list[str]]:
    """Frames of each `%s|` printf block."""
    blocks = out.split("|\n")[:-1]
    return [[f.strip() for f in b.strip("\n").splitlines()] for b in blocks]


def test_ustack_printf_names_the_call_chain(prog: str) -> None:
    r = run(f"uprobe:{prog}:leaf {{ printf(\"%s|\\n\", ustack); }}", child=[prog])
    assert r.code == 0, r.err
    stacks = _printed_stacks(r.out)
    chain = [s for s in stacks if s and s[1].startswith("middle+")]
    assert len(chain) == 3, r.out
    names = [f.split("+")[0] for f in chain[0]]
    assert names[:4] == ["leaf", "middle", "top", "main"], chain[0]
    assert chain[0][0] == "leaf+0" and all(FRAME.match(f) for f in chain[0])
    assert r.out.startswith("\n        leaf+0\n        middle+")  # bpftrace's printf form


def test_ustack_matches_bpftrace(prog: str) -> None:
    if shutil.which("bpftrace") is None:
        pytest.skip("bpftrace is not installed (the oracle)")
    text = f"uprobe:{prog}:leaf {{ printf(\"%s|\\n\", ustack(4)); }}"
    ours = run(text, child=[prog])
    theirs = subprocess.run(["bpftrace", "-e", text, "-c", prog], capture_output=True,
                            text=True, timeout=60)
    assert ours.code == 0 and theirs.returncode == 0, (ours.err, theirs.stderr)
    body = theirs.stdout.split("\n", 1)[1].rstrip("\n")  # drop "Attaching 1 probe..."
    assert _printed_stacks(ours.out) == _printed_stacks(body + "\n")


def test_ustack_as_map_key_aggregates_by_stack(prog: str) -> None:
    r = run(f"uprobe:{prog}:leaf {{ @[ustack(3)] = count(); printf(\"%s\", ustack(1)); }}",
            child=[prog])
    assert r.code == 0, r.err
    maps = r.out[r.out.index("@["):]
    assert "@[\n    leaf+0\n    middle+" in maps and "\n]: 3\n" in maps  # three calls via top
    assert "\n]: 3\n" in maps and "    leaf+0\n    take+" in maps  # and three via take()
    for block in maps.split("@[")[1:]:
        frames = block.split("]:")[0].strip("\n").splitlines()
        assert len(frames) <= 3


def test_ustack_limit_and_modes(prog: str) -> None:
    r = run(f"uprobe:{prog}:top {{ printf(\"%s|\\n\", ustack(perf, 2)); "
            f"printf(\"%s|\\n\", ustack(raw, 1)); }}", child=[prog])
    assert r.code == 0, r.err
    stacks = _printed_stacks(r.out)
    assert [len(s) for s in stacks] == [2, 1] * 3
    assert re.fullmatch(r"[0-9a-f]+ top\+0 \(.*\)", stacks[0][0]) and " main+" in stacks[0][1]


def test_kstack_on_a_syscall_tracepoint() -> None:
    text = ("tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @[kstack] = count(); "
            "printf(\"%s|\\n\", kstack(2)); }")
    child = ["/bin/sh", "-c", "for i in 1 2 3; do /bin/true; done; exec python3 -c "
             "'import os; [os.getppid() for _ in range(4)]'"]
    r = run(text, child=child)
    assert r.code == 0, r.err
    stacks = _printed_stacks(r.out.split("@[")[0])
    assert len(stacks) >= 4 and all(len(s) == 2 for s in stacks), r.out
    key = r.out[r.out.index("@[\n"):]
    frames = [f.strip() for f in key.split("]:")[0].splitlines()[1:]]
    assert all(FRAME.match(f) for f in frames), frames
    assert any(f.startswith("do_syscall_64+") for f in frames), frames
    assert key.rstrip().endswith(f"]: {len(stacks)}")


def _unique_kernel_symbol() -> tuple[str, int]:
    table = kernel_symbols()
    for name in ("do_syscall_64", "vfs_read", "ksys_read"):
        if name in table.names:
            addr = table.addrs[table.names.index(name)]
            if table.addrs.count(addr) == 1:
                return name, addr
    pytest.skip("no well-known kernel symbol with a unique address")


def test_ksym_and_usym(prog: str) -> None:
    name, addr = _unique_kernel_symbol()
    r = run(f"uprobe:{prog}:take {{ printf(\"%s %s %s %s %s\\n\", usym(arg0), usym(0x1234), "
            f"ksym({addr:#x}), ksym({addr + 5:#x}), ksym(1)); }}", child=[prog])
    assert r.code == 0, r.err
    assert r.out.splitlines()[:3] == [f"leaf 0x1234 {name} {name} 0x1"] * 3


def test_null_address_symbolizes_as_zero(prog: str) -> None:
    """bpftrace prints an unresolved null address as `0` (C++ prints a null pointer so),
    any other as hex."""
    r = run(f"uprobe:{prog}:take {{ printf(\"%s %s %s\\n\", usym(0), ksym(0), usym(2)); "
            "@[ksym(0)] = count(); exit(); }", child=[prog])
    assert r.code == 0, r.err
    assert r.out == "0 0 0x2\n\n\n@[0]: 1\n"


def test_ksym_offsets_resolve_to_the_enclosing_symbol() -> None:
    name, addr = _unique_kernel_symbol()
    assert ksym(addr + 3, offset=True) == f"{name}+3"
    t = SymbolTable.build([(0x2000, 0x10, "b"), (0x1000, 0, "a")])
    assert t.find(0x1004) == ("a", 4) and t.find(0x2008) == ("b", 8)
    assert t.find(0x2010) is None and t.find(0xFFF) is None


def test_stack_map_only_when_used() -> None:
    def maps(text: str) -> set[str]:
        res = compile_source(Source("t", text), Options()).obj.resources
        return {m.name for m in res.maps}

    assert "__stacks" not in maps("tracepoint:syscalls:sys_enter_getppid { @ = count(); }")
    assert "__stacks" in maps("tracepoint:syscalls:sys_enter_getppid { @[kstack] = count(); }")


def test_stack_of_an_exited_process_prints_addresses(prog: str) -> None:
    r = run(f"uprobe:{prog}:leaf {{ @[ustack(2)] = count(); }}", child=[prog])
    assert r.code == 0, r.err
    frames = [f.strip() for f in r.out.split("@[")[1].split("]:")[0].splitlines()[1:]]
    assert len(frames) == 2
    assert all(re.fullmatch(r"0x[0-9a-f]+", f) or FRAME.match(f) for f in frames)

