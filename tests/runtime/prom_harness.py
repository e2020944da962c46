"""Helpers for the Prometheus runtime tests: run `pytrace --prometheus` on loopback with a
self-generated workload, read the address it serves on, scrape it."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

HERE = os.path.dirname(__file__)
WORKLOAD = os.path.join(HERE, "workload.py")
SERVING = re.compile(r"Serving Prometheus metrics on (http://\S+)")


@dataclass
class Exporter:
    proc: subprocess.Popen[str]
    url: str
    err: list[str]


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


def _read_url(proc: subprocess.Popen[str], err: list[str], timeout: float = 60.0) -> str:
    assert proc.stderr is not None
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([proc.stderr], [], [], 0.5)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        line = proc.stderr.readline()
        if not line:
            break
        err.append(line)
        m = SERVING.search(line)
        if m:
            return m.group(1)
    raise AssertionError(f"pytrace never served metrics; stderr: {''.join(err)}")


@contextmanager
def launch(cmd: list[str]) -> Iterator[Exporter]:
    """Run a `pytrace --prometheus ...` command line; SIGINT (and wait) on leaving."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTRACE_NO_CACHE="1"))
    err: list[str] = []
    try:
        yield Exporter(proc, _read_url(proc, err), err)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


def pytrace_exporter(program: str, workload: list[str], *extra: str) -> AbstractContextManager[Exporter]:
    """`pytrace --prometheus 127.0.0.1:0 -c WORKLOAD -e PROGRAM`."""
    return launch([sys.executable, "-m", "pytrace", "--prometheus", "127.0.0.1:0", *extra,
                   "-c", " ".join([sys.executable, WORKLOAD, *workload]), "-e", program])
