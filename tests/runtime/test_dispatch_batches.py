"""The dispatcher's batch path (Dispatcher.handle_batch, runtime/runs.py) against the
kernel: the text and JSON it writes are exactly what the per-record path writes, in
order, with printf runs interleaved with other records; and a burst of 200,000 records
from an attached probe reaches a pipe whole with the default ring buffer."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from pytrace.driver import compile_source
from pytrace.output import JsonOutput, TextOutput
from pytrace.passes.context import Options
from pytrace.runtime.session import run_session
from pytrace.source import Source

WORKLOAD = os.path.join(os.path.dirname(__file__), "workload.py")

PROG = r"""BEGIN {
  $i = 0;
  while ($i < 3000) { printf("%d %s|%5x %-4hhd\n", $i, comm, $i * 7, $i); $i++; }
  printf("%c%c\n", 72, 105);
  print(42);
  printf("p=%p\n", 0);
  $j = 0;
  while ($j < 10) { printf("tail %d %s\n", $j, "x"); $j++; }
  time("%%\n");
  printf("no newline");
  printf(" then one\n");
  exit();
}
END { printf("end %d\n", 1); }"""


class PerRecordText(TextOutput):
    """The text output as the dispatcher's per-record path drives it."""

    printf_joined = False


class PerRecordJson(JsonOutput):
    printf_many = None  # type: ignore[assignment]


class CountingText(TextOutput):
    def __init__(self, stream: io.StringIO) -> None:
        super().__init__(stream, io.StringIO(), quiet=True)
        self.calls = 0

    def printf(self, text: str) -> None:
        self.calls += 1
        super().printf(text)


def _run(output: TextOutput | JsonOutput, stream: io.StringIO) -> str:
    obj = compile_source(Source("stdin", PROG), Options()).obj
    assert run_session(obj, output) == 0
    return stream.getvalue()


def test_batched_text_is_the_per_record_text() -> None:
    fast, slow = io.StringIO(), io.StringIO()
    counting = CountingText(fast)
    got = _run(counting, fast)
    want = _run(PerRecordText(slow, io.StringIO(), quiet=True), slow)
    assert got == want
    lines = got.splitlines()
    assert lines[1].startswith("1 ") and lines[1].endswith("|    7 1   ")
    assert lines[2999].endswith("| 5201 -73 ")  # 2999 * 7 in hex; 2999 as a signed char
    assert lines[3000:3003] == ["Hi", "42", "p=(nil)"]
    assert "no newline then one" in lines and "end 1" in lines
    assert counting.calls < 100  # thousands of records, a few calls (one per batch and break)


def test_batched_json_is_the_per_record_json() -> None:
    fast, slow = io.StringIO(), io.StringIO()
    got = _run(JsonOutput(fast, io.StringIO(), quiet=True), fast)
    want = _run(PerRecordJson(slow, io.StringIO(), quiet=True), slow)
    assert got == want
    assert got.count('{"type": "printf"') == 3000 + 1 + 1 + 10 + 2 + 1


def test_a_burst_of_200k_records_reaches_a_pipe_whole() -> None:
    n = 200_000
    child = f"{sys.executable} {WORKLOAD} pt_burst getppid {n}"  # -c splits at spaces
    prog = 'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { printf("%d %d\\n", pid, args->__syscall_nr); }'
    proc = subprocess.Popen([sys.executable, "-m", "pytrace", "-c", child, "-e", prog],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, PYTRACE_NO_CACHE="1"))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert b"Lost" not in err
    lines = out.splitlines()
    assert len([x for x in lines if x.endswith(b" 110")]) == n


def _burst(n: int, fmt: str, env: dict[str, str]) -> tuple[bytes, bytes]:
    child = f"{sys.executable} {WORKLOAD} pt_burst getppid {n}"  # -c splits at spaces
    prog = 'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { printf("%d %d\\n", pid, args->__syscall_nr); }'
    proc = subprocess.Popen([sys.executable, "-m", "pytrace", "-f", fmt, "-c", child, "-e", prog],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, PYTRACE_NO_CACHE="1", **env))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return out, err


def test_a_small_ring_buffer_counts_every_record_it_loses() -> None:
    n = 50_000
    out, err = _burst(n, "text", {"BPFTRACE_PERF_RB_PAGES": "1"})  # 4 KiB: most are lost
    shown = len([x for x in out.splitlines() if x.endswith(b" 110")])
    lost = sum(int(line.split()[1]) for line in err.decode().splitlines()
               if line.startswith("Lost "))
    assert lost > 0 and shown + lost == n


def test_json_lost_records_account_for_a_burst() -> None:
    import json

    n = 50_000
    out, _ = _burst(n, "json", {"BPFTRACE_PERF_RB_PAGES": "1"})
    recs = [json.loads(x) for x in out.splitlines() if x]
    shown = sum(1 for r in recs if r["type"] == "printf")
    lost = sum(r["count"] for r in recs if r["type"] == "lost_events")
    assert lost > 0 and shown + lost == n
