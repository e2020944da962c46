"""Helpers for the Prometheus runtime tests: run `pytrace --prometheus` on loopback with a
self-generated workload, read the address it serves on, scrape it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import IO

HERE = os.path.dirname(__file__)
WORKLOAD = os.path.join(HERE, "workload.py")
SERVING = re.compile(r"Serving Prometheus metrics on (http://\S+)")


@dataclass
class Exporter:
    """A running `pytrace --prometheus`: its /metrics URL and its output so far."""

    proc: subprocess.Popen[str]
    url: str
    out: list[str]
    err: list[str]
    readers: list[threading.Thread]

    def finish(self, timeout: float = 60.0) -> tuple[str, str]:
        """Wait for the exit; (stdout, stderr) in full."""
        self.proc.wait(timeout)
        for t in self.readers:
            t.join(timeout)
        return "".join(self.out), "".join(self.err)


def wait_for(cond: Callable[[], object], timeout: float = 20.0, step: float = 0.1) -> object:
    """cond()'s first truthy result, polling until `timeout` (then the last result)."""
    end = time.monotonic() + timeout
    while True:
        got = cond()
        if got or time.monotonic() > end:
            return got
        time.sleep(step)


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.read().decode()


def _reader(stream: IO[str], lines: list[str], seen: threading.Event) -> threading.Thread:
    def run() -> None:
        for line in stream:
            lines.append(line)
            seen.set()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _wait_url(proc: subprocess.Popen[str], err: list[str], seen: threading.Event,
              timeout: float = 60.0) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for line in list(err):
            m = SERVING.search(line)
            if m:
                return m.group(1)
        if proc.poll() is not None and not seen.is_set():
            break
        seen.clear()
        seen.wait(0.5)
    raise AssertionError(f"pytrace never served metrics; stderr: {''.join(err)}")


@contextmanager
def launch(cmd: list[str]) -> Iterator[Exporter]:
    """Run a `pytrace --prometheus ...` command line; SIGINT (and wait) on leaving."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTRACE_NO_CACHE="1"))
    assert proc.stdout is not None and proc.stderr is not None
    out: list[str] = []
    err: list[str] = []
    seen = threading.Event()
    readers = [_reader(proc.stdout, out, threading.Event()), _reader(proc.stderr, err, seen)]
    try:
        yield Exporter(proc, _wait_url(proc, err, seen), out, err, readers)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for t in readers:
            t.join(10)


def pytrace_exporter(program: str, workload: list[str], *extra: str) -> AbstractContextManager[Exporter]:
    """`pytrace --prometheus 127.0.0.1:0 -c WORKLOAD -e PROGRAM`."""
    return launch([sys.executable, "-m", "pytrace", "--prometheus", "127.0.0.1:0", *extra,
                   "-c", " ".join([sys.executable, WORKLOAD, *workload]), "-e", program])
