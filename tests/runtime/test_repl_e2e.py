"""The REPL against the kernel: the live session (shared maps, per-entry ring buffers,
rollback of failed entries) and the real prompt driven in a terminal through tmux."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytrace.repl.session import EntryError, ReplSession
from pytrace.runtime.errors import RuntimeFailure

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def session() -> Iterator[tuple[ReplSession, list[str]]]:
    lines: list[str] = []
    s = ReplSession(lines.append)
    s.start()
    try:
        yield s, lines
    finally:
        s.close()


def _wait(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def test_entries_share_maps_and_keep_their_own_events(session: tuple[ReplSession, list[str]]) -> None:
    s, lines = session
    s.add('BEGIN { @shared = 5; printf("one %d\\n", 1); }')
    s.add('BEGIN { @shared = @shared + 1; printf("two %s\\n", "x"); }')
    # both entries' printf are event id 0 of their own object: each decodes with its own
    assert _wait(lambda: "one 1\n" in lines and "two x\n" in lines)
    assert s.snapshot("@shared").entries[0].value == 6
    assert [e.id for e in s.entries] == [1, 2]
    shared = s.maps["@shared"]  # the Python API's view over the REPL's engine
    assert shared[()] == 6
    shared[()] = 41
    s.add('BEGIN { printf("now %d\\n", @shared + 1); }')
    assert _wait(lambda: "now 42\n" in lines)


def test_conflicting_use_is_a_located_error_that_changes_nothing(
        session: tuple[ReplSession, list[str]], open_fds: Callable[[], int]) -> None:
    s, _ = session
    s.add("tracepoint:syscalls:sys_enter_getppid { @repl_c[pid] = count(); }")
    before = (open_fds(), s.map_names(), len(s.entries), list(s.texts))
    with pytest.raises(EntryError) as exc:
        s.add('BEGIN { @fresh = 1; @repl_c = "x"; }')
    assert "stdin:1:" in str(exc.value) and "@repl_c" in str(exc.value)
    assert (open_fds(), s.map_names(), len(s.entries), list(s.texts)) == before


def test_failed_attach_leaks_no_maps_programs_or_fds(
        session: tuple[ReplSession, list[str]], open_fds: Callable[[], int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    s, _ = session
    s.add("BEGIN { @kept = 1; }")
    before = (open_fds(), s.map_names(), len(s.engine.loaded.programs))

    def refuse(*args: object) -> list[object]:
        raise RuntimeFailure("refused for the test")

    monkeypatch.setattr("pytrace.runtime.engine.attach_all", refuse)
    with pytest.raises(EntryError, match="refused for the test"):
        s.add("tracepoint:syscalls:sys_enter_getppid { @leak_probe = count(); }")
    assert (open_fds(), s.map_names(), len(s.engine.loaded.programs)) == before
    assert "@leak_probe" not in s.engine.loaded.map_names()


def test_detach_keeps_the_map_and_stops_counting(session: tuple[ReplSession, list[str]]) -> None:
    s, _ = session
    s.add("tracepoint:syscalls:sys_enter_getppid { @repl_d[pid] = count(); }")
    for _ in range(7):
        os.getppid()
    s.detach(1)
    for _ in range(5):
        os.getppid()
    counts = {e.key: e.value for e in s.snapshot("@repl_d").entries}
    assert counts[(os.getpid(),)] == 7
    assert not s.entries[0].live


def test_detach_and_exit_release_the_entry_programs_and_ring_buffers(
        session: tuple[ReplSession, list[str]], open_fds: Callable[[], int]) -> None:
    s, lines = session
    s.add("tracepoint:syscalls:sys_enter_getppid { @repl_kept[pid] = count(); }")
    s.detach(1)
    before = open_fds()
    for _ in range(16):
        e, _ = s.add("tracepoint:syscalls:sys_enter_getppid { @repl_kept[pid] = count(); }")
        os.getppid()
        s.detach(e.id)
    assert open_fds() == before
    e, _ = s.add("tracepoint:syscalls:sys_enter_getppid { exit(); }")
    os.getppid()
    assert _wait(lambda: not e.live and e.group.released)
    assert open_fds() == before
    assert f"probe {e.id} called exit(): detached\n" in lines
    assert s.snapshot("@repl_kept").entries  # the shared map kept its contents


# ---------------------------------------------------------------- the real terminal

class Tmux:
    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def screen(self) -> str:
        out = subprocess.run(["tmux", "capture-pane", "-p", "-S", "-200", "-t", self.name],
                             capture_output=True, text=True)
        return out.stdout

    def expect(self, text: str, timeout: float = 10.0) -> str:
        if not _wait(lambda: text in self.screen(), timeout):
            pytest.fail(f"{text!r} never appeared; screen:\n{self.screen()}")
        return self.screen()

    def alive(self) -> bool:
        return subprocess.run(["tmux", "has-session", "-t", self.name],
                              capture_output=True).returncode == 0


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[tuple[Tmux, Path]]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    name = f"pytrace-repl-{os.getpid()}"
    rc = tmp_path / "rc"
    cmd = (f"cd {ROOT} && PYTRACE_NO_HISTORY=1 {sys.executable} -m pytrace; "
           f"echo $? > {rc}; sleep 60")  # the pane stays readable
    subprocess.run(["tmux", "new-session", "-d", "-x", "120", "-y", "40", "-s", name, cmd],
                   check=True)
    t = Tmux(name)
    try:
        yield t, rc
    finally:
        if t.alive():
            subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def test_terminal_attach_print_detach_quit(tmux: tuple[Tmux, Path]) -> None:
    t, rc = tmux
    m = f"@e2e_{os.getpid()}"
    t.expect("pytrace>")
    t.send(f"t:syscalls:sys_enter_getppid {{ {m}[pid] = count(); }}", "Enter")
    t.expect("probe 1 attached (tracepoint:syscalls:sys_enter_getppid)")
    for _ in range(9):
        os.getppid()
    t.send(m, "Enter")
    t.expect(f"{m}[{os.getpid()}]: 9")
    t.send(".probes", "Enter")
    t.expect("attached")
    t.send(f'BEGIN {{ {m} = "x"; }}', "Enter")  # a conflicting use: located error
    t.expect("ERROR: Type mismatch")
    t.send(".detach 1", "Enter")
    t.expect("probe 1 detached")
    for _ in range(4):
        os.getppid()
    t.send(f".watch {m} 100ms", "Enter")
    t.expect("(Ctrl-C to stop)")
    t.send("C-c")  # ends the watch, not the session
    t.send("BEGIN {", "Enter")  # incomplete: Enter adds a line
    t.expect("...>")
    t.send("C-c")  # cancels the input, not the session
    t.send(".quit", "Enter")
    assert _wait(lambda: rc.exists() and rc.read_text().strip() != ""), t.screen()
    assert rc.read_text().strip() == "0"
    screen = t.screen()
    assert screen.count(f"{m}[{os.getpid()}]: 9") == 3  # printed, watched, at exit
    assert f"{m}[{os.getpid()}]: 13" not in screen  # detached: no more counting


def test_flood_is_rate_limited_and_every_line_is_accounted_for(
        session: tuple[ReplSession, list[str]]) -> None:
    s, lines = session
    s.add('tracepoint:syscalls:sys_enter_getppid /pid == $1/ { printf("flood\\n"); }'
          .replace("$1", str(os.getpid())))
    for _ in range(2000):
        os.getppid()

    def accounted() -> int:
        shown = sum(1 for x in lines if x == "flood\n")
        dropped = sum(int(x.split()[0][1:]) for x in lines if "dropped from the display" in x)
        return shown + dropped

    assert _wait(lambda: accounted() == 2000), lines[-3:]
    assert any("dropped from the display" in x for x in lines)
    assert sum(1 for x in lines if x == "flood\n") < 2000


def test_meta_commands_without_a_terminal(session: tuple[ReplSession, list[str]],
                                          tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from pytrace.repl.app import Repl

    s, _ = session
    repl = Repl(s)
    repl.handle("BEGIN { @meta_m[1] = 41; }")
    repl.handle("BEGIN { @meta_m[2] = 2; }")
    repl.handle("@meta_m")
    repl.handle(".maps")
    repl.handle(".detach 9")
    repl.handle(".nosuch")
    script = tmp_path / "s.bt"
    repl.handle(f".save {script}")
    out, err = capsys.readouterr()
    assert "probe 1 attached (BEGIN)" in out and "probe 2 attached (BEGIN)" in out
    assert "@meta_m[2]: 2\n@meta_m[1]: 41\n" in out  # sorted by value, as bpftrace
    assert "@meta_m[int64]: int64" in out
    assert "no attached probe 9" in err and "unknown command '.nosuch'" in err
    assert script.read_text() == "BEGIN { @meta_m[1] = 41; }\nBEGIN { @meta_m[2] = 2; }\n"
    repl.handle(".clear @meta_m")
    assert s.snapshot("@meta_m").empty
    repl.handle(f".load {script}")  # the saved script runs again as one entry
    assert {e.key: e.value for e in s.snapshot("@meta_m").entries} == {(1,): 41, (2,): 2}
    assert len(s.entries) == 3


def test_the_current_language_in_entries(session: tuple[ReplSession, list[str]]) -> None:
    s, lines = session
    assert s.add("macro twice(x) { x * 2 }") == (None, "")
    entry, warn = s.add("let @l = lruhash(4);")
    assert entry is None and "Unused map: @l" in warn
    assert s.add("config = { max_map_keys = 8 }")[0] is None
    s.add('begin { @l[1] = twice(21); if @l[1] == 42 { printf("ok %d\\n", { $x = 2; $x }); } '
          "for ($i : 0..20) { @m[$i] = 1; } }")
    assert _wait(lambda: "ok 2\n" in lines)
    assert s.map_specs["@l"].max_entries == 4 and s.map_specs["@m"].max_entries == 8
    assert s.texts[0] == "config = { max_map_keys = 8 }"  # saved before every probe
    with pytest.raises(EntryError) as info:
        s.add("begin { twice(1, 2); }")
    assert "Macro twice takes 1 argument(s) (2 provided)" in str(info.value)
    assert "stdin:1:9-20" in str(info.value)  # located in the entry itself


def test_self_signal_probe_in_an_entry(session: tuple[ReplSession, list[str]]) -> None:
    import signal

    s, lines = session
    s.add('self:signal:SIGUSR1 { printf("usr1\\n"); }')
    os.kill(os.getpid(), signal.SIGUSR1)
    assert _wait(lambda: "usr1\n" in lines)
