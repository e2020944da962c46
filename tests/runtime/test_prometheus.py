"""`--prometheus` against the kernel: /metrics scraped with urllib while the program runs
(the CLI, run_session's hooks in process, the REPL's `.serve`), exact values from a
self-generated workload, nothing read after the maps close, nothing leaked."""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.error

from prom_harness import launch, pytrace_exporter, scrape, wait_for
from prometheus_client.parser import text_string_to_metric_families

from pytrace.driver import compile_source
from pytrace.output import make_output
from pytrace.passes.context import Options
from pytrace.prometheus import CliExporter
from pytrace.runtime.session import Session, run_session
from pytrace.source import Source

PROG = ('tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @calls[comm] = count(); } '
        'tracepoint:syscalls:sys_enter_write /pid == cpid/ { @sizes = hist(args.count); '
        '@w[comm, args.fd] = sum(args.count); @big = max(args.count); }')
WORKLOAD = ["pt_prom", "getppid", "7", "write", "5", "100", "sleep", "60"]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text) for s in f.samples}


def test_cli_serves_labelled_counters_and_histograms_while_it_runs() -> None:
    with pytrace_exporter(PROG, WORKLOAD) as ex:
        key = ("pytrace_calls_total", (("comm", "pt_prom"),))
        got = wait_for(lambda: (s := samples(scrape(ex.url))).get(key) == 7 and
                       s.get(("pytrace_sizes_bucket", (("le", "+Inf"),))) == 5 and s)
        assert got, scrape(ex.url)
        assert isinstance(got, dict)
        assert got[("pytrace_sizes_bucket", (("le", "63.0"),))] == 0
        assert got[("pytrace_sizes_bucket", (("le", "127.0"),))] == 5
        assert got[("pytrace_big", ())] == 100
        w = [v for (name, labels), v in got.items() if name == "pytrace_w_total"]
        assert w == [500] and any(k == ("comm", "pt_prom") for (n, ls), _ in got.items()
                                  if n == "pytrace_w_total" for k in ls)
        # scrapes racing the exit must never read a closed map
        errors: list[BaseException] = []
        stop = threading.Event()

        def hammer() -> None:
            while not stop.is_set():
                try:
                    scrape(ex.url)
                except (urllib.error.URLError, ConnectionError, OSError):
                    return  # the server is gone: the process is exiting
                except BaseException as exc:  # noqa: BLE001
                    errors.append(exc)
                    return

        t = threading.Thread(target=hammer)
        t.start()
        ex.proc.send_signal(signal.SIGINT)
        out, err = ex.finish()
        stop.set()
        t.join(30)
        assert ex.proc.returncode == 0, err
        assert "@calls[pt_prom]: 7" in out
        assert not errors
        assert "Traceback" not in err and "cannot export" not in err, err
        port = int(ex.url.rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as s:  # the port was released
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))


def test_run_session_hooks_serve_in_process_and_leak_nothing(open_fds) -> None:  # type: ignore[no-untyped-def]
    obj = compile_source(Source("stdin", PROG), Options(has_child=True)).obj
    exporter = CliExporter("127.0.0.1", 0)
    seen: dict[str, object] = {}

    def on_start(session: Session) -> None:
        exporter.on_start(session)
        assert exporter.server is not None
        url = exporter.server.url

        def check() -> None:
            key = ("pytrace_calls_total", (("comm", "pt_prom"),))
            seen["value"] = wait_for(lambda: samples(scrape(url)).get(key) == 7)
            session.request_stop()

        threading.Thread(target=check, daemon=True).start()

    before = open_fds()
    out = io.StringIO()
    code = run_session(obj, make_output("text", out, io.StringIO(), quiet=True),
                       ["python3", os.path.join(os.path.dirname(__file__), "workload.py"),
                        *WORKLOAD], on_start=on_start, on_stop=exporter.on_stop)
    assert code == 0 and seen["value"] is True
    assert exporter.server is None
    assert wait_for(lambda: open_fds() == before, timeout=10)


def test_repl_serve_command(capsys) -> None:  # type: ignore[no-untyped-def]
    from pytrace.repl.app import Repl
    from pytrace.repl.session import ReplSession

    session = ReplSession(lambda text: None)
    session.start()
    repl = Repl(session)
    try:
        repl.handle(f"tracepoint:syscalls:sys_enter_getppid /pid == {os.getpid()}/ "
                    "{ @repl_prom[pid] = count(); }")
        repl.handle(".serve 127.0.0.1:0")
        assert repl.server is not None
        url = repl.server.url
        for _ in range(6):
            os.getppid()
        key = ("pytrace_repl_prom_total", (("pid", str(os.getpid())),))
        assert wait_for(lambda: samples(scrape(url)).get(key) == 6)
        repl.handle(".serve 127.0.0.1:0")  # one at a time
        repl.handle(".serve off")
        assert repl.server is None
        out = capsys.readouterr()
        assert f"serving Prometheus metrics on {url}" in out.out
        assert "already serving" in out.err
        repl.handle(".serve 127.0.0.1:0")  # quit stops it before the maps close
        assert repl.server is not None
    finally:
        repl.quit()
    assert repl.server is None


def _unit_command(tool: str) -> list[str]:
    """deploy/systemd/pytrace@.service's ExecStart for `tool`, as systemd would expand it
    (its Environment= lines, then /etc/pytrace/TOOL.env), run from this checkout and
    served on a free loopback port."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    unit = open(os.path.join(root, "deploy", "systemd", "pytrace@.service")).read()
    env: dict[str, str] = {}
    for line in unit.splitlines():
        if line.startswith("Environment="):
            name, _, value = line.removeprefix("Environment=").partition("=")
            env[name] = value
    for line in open(os.path.join(root, "deploy", "systemd", f"{tool}.env")):
        if "=" in line and not line.startswith("#"):
            name, _, value = line.strip().partition("=")
            env[name] = value
    env.update(PYTRACE_SCRIPTS=os.path.join(root, "scripts"), PYTRACE_PROMETHEUS="127.0.0.1:0")
    start = next(ln for ln in unit.splitlines() if ln.startswith("ExecStart="))
    words = start.removeprefix("ExecStart=").replace("%i", tool).split()
    words = [re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], w) for w in words]
    assert words[0] == "/usr/local/bin/pytrace"
    return [sys.executable, "-m", "pytrace", *words[1:]]


def test_the_systemd_unit_command_serves_a_shipped_script() -> None:
    with launch(_unit_command("readsize")) as ex:
        with open("/proc/self/comm") as f:
            comm = f.read().strip()
        fd = os.open("/dev/zero", os.O_RDONLY)
        try:
            def reads_seen() -> float:
                os.read(fd, 100)  # one more successful read by this process each poll
                return samples(scrape(ex.url)).get(
                    ("pytrace_bytes_bucket", (("comm", comm), ("le", "+Inf"))), 0)

            n = wait_for(lambda: reads_seen() >= 3)
        finally:
            os.close(fd)
        assert n, scrape(ex.url)
        ex.proc.send_signal(signal.SIGINT)  # the unit's KillSignal
        out, err = ex.finish()
        assert ex.proc.returncode == 0 and "Traceback" not in err, err
        assert f"@bytes[{comm}]:" in out


def test_a_taken_port_fails_before_anything_is_attached() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "pytrace", "--prometheus", f"127.0.0.1:{port}",
                            "-e", 'BEGIN { printf("begun\\n"); }'],
                           capture_output=True, text=True, timeout=120)
    assert (r.returncode, r.stdout, r.stderr) == (
        1, "", f"ERROR: cannot serve Prometheus metrics on 127.0.0.1:{port}: Address already in use\n")
