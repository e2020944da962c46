"""Keep-going fuzz of the whole pipeline to `--dry-run` (parse, passes, codegen, LLVM
object), each program in a worker process so that an abort or a hang is caught too.

Programs are generated from the grammar's constructs, the builtins registry and the
probe kinds, then mutated character by character. Every finding (internal error,
traceback, abort, or more than HANG_S seconds) is collected and reported together at
the end, with its reproducer; the run is bounded by BUDGET_S seconds.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pytrace.builtins import REGISTRY
from pytrace.probes.registry import KINDS

BUDGET_S = float(os.environ.get("PYTRACE_FUZZ_BUDGET_S", "45"))
HANG_S = 10.0
WORKER = r"""
import contextlib, io, json, os, sys
os.environ["PYTRACE_NO_CACHE"] = "1"
from pytrace import cli
for line in sys.stdin:
    prog = json.loads(line)
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = cli.main(["--dry-run", "-e" + prog, "7", "x"])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:
            code, _ = -1, err.write(f"Traceback (escaped cli.main): {exc!r}")
    sys.__stdout__.write(json.dumps({"code": code, "err": err.getvalue()[-3000:]}) + "\n")
    sys.__stdout__.flush()
"""

ATTACH = [
    "BEGIN", "END", "interval:s:1", "interval:ms:10", "profile:hz:99", "software:cpu-clock:1000",
    "tracepoint:syscalls:sys_enter_openat", "t:syscalls:sys_exit_read", "tracepoint:raw_syscalls:sys_enter",
    "t:syscalls:sys_enter_get*", "rawtracepoint:sys_enter", "uprobe:/bin/bash:readline",
    "uretprobe:/bin/bash:readline", "uprobe:/bin/bash:readline+7", "kprobe:do_sys_open", "hardware:cycles:100",
    "usdt:/bin/bash:nope", "fentry:vfs_read", "watchpoint:0x1000:8:w", "iter:task", "i:s:1", "p:hz:49",
]
FIELDS = ["filename", "fd", "count", "ret", "id", "args", "__syscall_nr", "x"]
TYPES = ["uint8", "int16", "uint32", "int64", "uint64", "string", "struct task_struct *", "char"]
BINOPS = ["+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^", "==", "!=", "<", "<=", ">", ">=", "&&", "||"]
FORMATS = ["%d", "%s", "%u", "%x", "%llu", "%-5s", "%c", "%p", "%r", "%%", "%08lx", "%K", "%"]
AGGS = ["count()", "sum({e})", "min({e})", "max({e})", "avg({e})", "stats({e})", "hist({e})",
        "lhist({e}, 0, 100, 10)"]


# kprobe/kretprobe wildcards compile to one kprobe_multi program; fentry/fexit ones still
# compile one program per function
TRAMPOLINE_KINDS = frozenset({"f", "fentry", "fr", "fexit"})


def _kind_spellings() -> list[str]:
    return sorted({s for k in KINDS for s in getattr(k, "spellings", (k.name,))})


@st.composite
def expr(draw: st.DrawFn, depth: int = 0) -> str:
    leaves = st.one_of(
        st.integers(-(2**64), 2**64).map(str),
        st.sampled_from(["0", "1", "-1", "0x10", "1000000", "18446744073709551615", "$1", "$2", "$#"]),
        st.sampled_from(sorted(n for n, b in REGISTRY.items() if b.identifier)),
        st.sampled_from(["$x", "$y", "@m", "@", "@s[1]", "args.filename", "args->count", "arg0", "retval"]),
        st.text("abcxyz %\\n\"", max_size=12).map(lambda s: '"' + s.replace('"', "") + '"'),
    )
    if depth >= 3:
        return draw(leaves)
    sub = expr(depth + 1)
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return f"({draw(sub)} {draw(st.sampled_from(BINOPS))} {draw(sub)})"
    if choice == 1:
        return f"{draw(st.sampled_from(['!', '-', '~', '*', '&']))}{draw(sub)}"
    if choice == 2:
        return f"({draw(sub)} ? {draw(sub)} : {draw(sub)})"
    if choice == 3:
        return f"({draw(st.sampled_from(TYPES))}){draw(sub)}"
    if choice == 4:
        return f"({draw(sub)}, {draw(sub)})"
    if choice == 5:
        return f"{draw(sub)}{draw(st.sampled_from(['.', '->']))}{draw(st.sampled_from(FIELDS))}"
    if choice == 6:
        return f"@{draw(st.sampled_from(['m', 's', '']))}[{draw(sub)}]"
    if choice in (7, 8):
        name = draw(st.sampled_from(sorted(n for n, b in REGISTRY.items() if b.call)))
        b = REGISTRY[name]
        hi = b.max_args if b.max_args is not None and b.max_args >= 0 else b.min_args + 2
        n = draw(st.integers(0, min(hi + 1, 4)))
        return f"{name}({', '.join(draw(sub) for _ in range(n))})"
    return draw(leaves)


@st.composite
def statement(draw: st.DrawFn, depth: int = 0) -> str:
    e = expr()
    choice = draw(st.integers(0, 11 if depth < 2 else 7))
    if choice == 0:
        return f"@{draw(st.sampled_from(['m', 's', '']))}[{draw(e)}] = {draw(e)};"
    if choice == 1:
        return f"${draw(st.sampled_from(['x', 'y']))} = {draw(e)};"
    if choice == 2:
        return f"@{draw(st.sampled_from(['a', 'b']))} = " + draw(st.sampled_from(AGGS)).format(e=draw(e)) + ";"
    if choice == 3:
        fmt = " ".join(draw(st.lists(st.sampled_from(FORMATS), max_size=4)))
        args = ", ".join(draw(st.lists(e, max_size=4)))
        return f'printf("{fmt}\\n"{", " if args else ""}{args});'
    if choice == 4:
        return f"print({draw(st.sampled_from(['@m', '@a', '@', '$x']))});"
    if choice == 5:
        return draw(st.sampled_from(["exit();", "clear(@m);", "zero(@a);", "delete(@m[1]);", "$x++;",
                                     "@m[1]++;", "exit(3);", "print(@m, 3);", "time();"]))
    if choice == 6:
        return f"{draw(e)};"
    if choice == 7:
        return f"$x {draw(st.sampled_from(['+=', '-=', '<<=', '|=']))} {draw(e)};"
    body = " ".join(draw(st.lists(statement(depth + 1), max_size=3)))
    if choice == 8:
        return f"if ({draw(e)}) {{ {body} }} else {{ {body} }}"
    if choice == 9:
        return f"$i = 0; while ($i < {draw(st.integers(0, 20))}) {{ $i++; {body} }}"
    if choice == 10:
        return f"unroll({draw(st.integers(0, 30))}) {{ {body} }}"
    return f"for ($k : 0..{draw(st.integers(0, 10))}) {{ {body} }}"


@st.composite
def attach_point(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 5)):
        return draw(st.sampled_from(ATTACH))
    kind = draw(st.sampled_from(_kind_spellings()))
    rest = draw(st.lists(st.sampled_from(["", "s", "1", "sys_enter_read", "/bin/bash", "*", "x"]), max_size=3))
    if kind in TRAMPOLINE_KINDS and rest[-1:] == ["*"]:
        # every kernel function is tens of thousands of fentry programs to compile:
        # work, not a hang (no fentry program is shared by several functions yet)
        rest[-1] = "vfs_*"
    return ":".join([kind, *rest])


@st.composite
def program(draw: st.DrawFn) -> str:
    blocks = []
    for _ in range(draw(st.integers(1, 3))):
        points = ", ".join(draw(st.lists(attach_point(), min_size=1, max_size=2)))
        pred = f" /{draw(expr())}/" if draw(st.booleans()) else ""
        body = " ".join(draw(st.lists(statement(), max_size=4)))
        blocks.append(f"{points}{pred} {{ {body} }}")
    text = " ".join(blocks)
    for _ in range(draw(st.integers(0, 2))):  # character-level mutation
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 5)))
        op = draw(st.sampled_from(["delete", "insert", "dup"]))
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + draw(st.sampled_from(list("(){}[];,@$+-*/<>=!&|\"'0x") + ["\\", "\n", "#"])) + text[i:]
        else:
            text = text[:i] + text[i:j] + text[i:]
    return text


class BudgetSpent(Exception):
    """The time budget is used up."""


@dataclass
class Worker:
    """One `pytrace` process compiling programs from its stdin, replaced when it dies or hangs."""

    proc: subprocess.Popen[str] | None = None
    findings: list[str] = field(default_factory=list)
    compiled: int = 0  # programs that reached an object (the rest ended in diagnostics)

    def start(self) -> subprocess.Popen[str]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                         env=dict(os.environ, PYTRACE_NO_CACHE="1"))
        return self.proc

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.communicate()
            self.proc = None

    def check(self, prog: str) -> None:
        p = self.start()
        assert p.stdin is not None and p.stdout is not None
        p.stdin.write(json.dumps(prog) + "\n")
        p.stdin.flush()
        ready, _, _ = select.select([p.stdout], [], [], HANG_S)
        if not ready:
            self.findings.append(f"HANG (> {HANG_S:.0f} s): {prog!r}")
            self.stop()
            return
        line = p.stdout.readline()
        if not line:
            p.wait()
            err = p.stderr.read()[-500:] if p.stderr else ""
            self.findings.append(f"ABORT (exit {p.returncode}): {prog!r}\n    {err.strip()}")
            self.proc = None
            return
        res = json.loads(line)
        err = res["err"]
        self.compiled += res["code"] == 0
        if "internal error" in err or "Traceback" in err or res["code"] not in (0, 1):
            first = next((ln for ln in err.splitlines() if "internal error" in ln or "Traceback" in ln),
                         err.strip()[:300])
            self.findings.append(f"code {res['code']}: {prog!r}\n    {first}")


def test_whole_pipeline_keep_going() -> None:
    worker = Worker()
    deadline = time.monotonic() + BUDGET_S
    ran = [0]

    @settings(max_examples=3000, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(program())
    def one(prog: str) -> None:
        if time.monotonic() > deadline:
            raise BudgetSpent  # ends the run (hypothesis has no time budget of its own)
        if prog.strip():
            ran[0] += 1
            worker.check(prog)

    try:
        one()
    except BudgetSpent:
        pass
    finally:
        worker.stop()
    print(f"pipeline fuzz: {ran[0]} programs, {worker.compiled} compiled, {len(worker.findings)} findings")
    assert ran[0] > 20, "the fuzz budget ran too few programs"
    assert not worker.findings, f"{len(worker.findings)} of {ran[0]} programs failed:\n" + "\n".join(worker.findings)
