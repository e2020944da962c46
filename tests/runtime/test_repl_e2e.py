"""The REPL against the kernel: the live session (shared maps, per-entry ring buffers,
rollback of failed entries) and the real prompt driven in a terminal through tmux."""

from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
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


def _wait(cond: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Poll `cond` until it holds; generous, since a loaded machine is slow (it costs
    nothing when the condition comes at once)."""
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


def test_begin_output_is_shown_before_the_prompt_comes_back(
        session: tuple[ReplSession, list[str]]) -> None:
    s, lines = session
    entry, _ = s.add('BEGIN { printf("begin %d\\n", 7); }')
    assert entry is not None
    s.show_sent(entry)  # what the prompt does after an entry: no waiting for the poller
    assert "begin 7\n" in lines


def test_begin_output_precedes_the_entrys_first_events(
        session: tuple[ReplSession, list[str]]) -> None:
    """BEGIN runs before the entry's probes attach (as in the CLI), so its line comes
    first even when the probe fires at once: a thread of ours calls getppid() nonstop."""
    s, lines = session
    done = threading.Event()

    def busy() -> None:
        while not done.is_set():
            os.getppid()

    t = threading.Thread(target=busy)
    t.start()
    try:
        entry, _ = s.add('BEGIN { printf("begin\\n"); } '
                         f'tracepoint:syscalls:sys_enter_getppid /pid == {os.getpid()}/ '
                         '{ printf("event\\n"); }')
        assert entry is not None
        s.show_sent(entry)
        assert _wait(lambda: "event\n" in lines)
    finally:
        done.set()
        t.join()
    assert lines.index("begin\n") < lines.index("event\n")


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

    # every line is shown or counted in a note (however the poller's reads and the
    # limiter's windows fall); the bound only stops a broken run waiting forever
    assert _wait(lambda: accounted() == 2000, timeout=60), (accounted(), lines[-3:])
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
    assert "@meta_m[uint8]: uint8" in out  # the literals 1, 2, 41 are uint8
    assert "no attached probe 9" in err and "unknown command '.nosuch'" in err
    assert script.read_text() == "BEGIN { @meta_m[1] = 41; }\nBEGIN { @meta_m[2] = 2; }\n"
    repl.handle(".clear @meta_m")
    assert s.snapshot("@meta_m").empty
    repl.handle(f".load {script}")  # the saved script runs again as one entry
    assert {e.key: e.value for e in s.snapshot("@meta_m").entries} == {(1,): 41, (2,): 2}
    assert len(s.entries) == 3


# ---------------------------------------------------------------- .edit and exit()

def _mine(body: str, event: str = "getppid") -> str:
    return f"tracepoint:syscalls:sys_enter_{event} /pid == {os.getpid()}/ {{ {body} }}"


def test_replace_swaps_the_probes_and_keeps_the_maps(
        session: tuple[ReplSession, list[str]], open_fds: Callable[[], int]) -> None:
    s, _ = session
    s.add("BEGIN { @before = 1; }")
    e, _ = s.add(_mine("@rep = count();"))
    for _ in range(5):
        os.getppid()
    fds = open_fds()
    new, _ = s.replace(e.id, _mine("@rep = count();", "getpgid"))
    assert new.id == e.id and new.live and e.group.released
    assert new.attach_points == ["tracepoint:syscalls:sys_enter_getpgid"]
    for _ in range(3):
        os.getppid()  # no longer counted
    for _ in range(4):
        os.getpgid(0)
    assert s.snapshot("@rep").entries[0].value == 9  # the count went on in the same map
    assert open_fds() == fds  # the old entry's programs and ring buffer are closed
    assert s.script().splitlines() == ["BEGIN { @before = 1; }", _mine("@rep = count();",
                                                                      "getpgid")]


def test_replace_with_an_error_changes_nothing(
        session: tuple[ReplSession, list[str]], open_fds: Callable[[], int]) -> None:
    s, _ = session
    e, _ = s.add(_mine("@rep_err[pid] = count();"))
    before = (open_fds(), s.script(), e.group.live)
    with pytest.raises(EntryError, match="stdin:1:"):
        s.replace(e.id, 'BEGIN { @rep_err = "now a string"; }')
    assert (open_fds(), s.script(), s.entries[0] is e, e.live) == (*before[:2], True, True)
    with pytest.raises(KeyError):
        s.replace(99, "BEGIN { }")


def test_replace_that_cannot_attach_puts_the_old_text_back(
        session: tuple[ReplSession, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    import pytrace.runtime.engine as engine

    s, _ = session
    e, _ = s.add(_mine("@rep_back = count();"))
    real = engine.attach_all
    calls = []

    def refuse_once(*args: object, **kw: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeFailure("refused for the test")
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "attach_all", refuse_once)
    with pytest.raises(EntryError, match="(?s)refused for the test.*attached again"):
        s.replace(e.id, _mine("@rep_back = count();", "getpgid"))
    back = s.entries[0]
    assert back.id == e.id and back.live and back.text == e.text
    os.getppid()
    assert s.snapshot("@rep_back").entries[0].value == 1


def test_exit_detaches_only_its_own_entry(session: tuple[ReplSession, list[str]]) -> None:
    s, lines = session
    keep, _ = s.add(_mine("@ex_a = count();"))
    stop, _ = s.add(_mine("@ex_b = count(); exit();"))
    for _ in range(3):
        os.getppid()
    assert _wait(lambda: f"probe {stop.id} called exit(): detached\n" in lines)
    assert keep.live and not stop.live
    for _ in range(2):
        os.getppid()
    assert s.snapshot("@ex_a").entries[0].value == 5
    assert s.snapshot("@ex_b").entries[0].value == 1


# ---------------------------------------------------------------- the real terminal

SGR = re.compile(r"\x1b\[[0-9;]*m")


class Tmux:
    """One terminal: a tmux server of its own (its own socket), so tests never touch
    another tmux and a server exiting never races a session starting."""

    def __init__(self, name: str) -> None:
        self.name = name

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", self.name, *args], check=check,
                              capture_output=True, text=True)

    def send(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.name, *keys)

    def type(self, text: str) -> None:
        """Type literally (no key names), as a person would."""
        self.tmux("send-keys", "-t", self.name, "-l", text)

    def screen(self, colour: bool = False) -> str:
        """The pane and its scrollback; with colour, the escapes tmux shows (-e)."""
        out = self.tmux("capture-pane", "-p", "-J", "-S", "-300", "-t", self.name,
                        *(["-e"] if colour else []), check=False)
        return out.stdout

    def expect(self, text: str, timeout: float = 60.0, colour: bool = False) -> str:
        if not _wait(lambda: text in self.screen(colour), timeout):
            pytest.fail(f"{text!r} never appeared; screen:\n{self.screen(colour)}")
        return self.screen(colour)

    def cancel(self) -> None:
        """Ctrl-C the input being typed, and wait for the next prompt (keys typed before
        it starts would be echoed by the terminal outside the prompt's raw mode)."""
        prompts = self.screen().count("pytrace>")
        self.send("C-c")
        if not _wait(lambda: self.screen().count("pytrace>") > prompts):
            pytest.fail(f"no prompt after Ctrl-C; screen:\n{self.screen()}")

    def close(self) -> None:
        self.tmux("kill-server", check=False)


Term = Callable[..., tuple[Tmux, Path]]
_SERVERS = itertools.count()


@pytest.fixture
def term(tmp_path: Path) -> Iterator[Term]:
    """Start a command in a fresh 130x45 tmux terminal: (Tmux, path of its exit code)."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    started: list[Tmux] = []

    def start(cmd: str = "", env: dict[str, str] | None = None, redirect: str = "",
              name: str = "repl") -> tuple[Tmux, Path]:
        tname = f"pytrace-{name}-{os.getpid()}-{next(_SERVERS)}"  # a server per terminal
        rc = tmp_path / f"rc{len(started)}"
        assigns = " ".join(f"{k}={shlex.quote(v)}" for k, v in
                           {"PYTRACE_NO_HISTORY": "1", "TERM": "xterm-256color",
                            **(env or {})}.items())
        run = cmd or f"{sys.executable} -m pytrace"
        line = (f"cd {ROOT} && env -u NO_COLOR {assigns} {run} {redirect}; "
                f"echo $? > {rc}; sleep 60")  # the pane stays readable
        t = Tmux(tname)
        t.tmux("-f", "/dev/null", "new-session", "-d", "-x", "130", "-y", "45", "-s", tname,
               line)
        started.append(t)
        return t, rc

    try:
        yield start
    finally:
        for t in started:
            t.close()


def _exited(rc: Path, t: Tmux) -> None:
    assert _wait(lambda: rc.exists() and rc.read_text().strip() != ""), t.screen()
    assert rc.read_text().strip() == "0", t.screen()


MAPS = ('BEGIN { @c["a"] = count(); @c["bb"] = count(); @c["bb"] = count(); '
        '@h = hist(5); @h = hist(300); @h = hist(301); @s = stats(7); @s = stats(9); }')


def _styled(screen: str) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """Each line of a `capture-pane -e` screen as (text, runs of (style, text)): the
    attributes tmux's escapes set, carried from line to line as a terminal does, so two
    screens compare by what is shown, not by how tmux chose to encode it."""
    state: dict[str, str] = {}
    out = []
    for line in screen.splitlines():
        runs: list[tuple[str, str]] = []
        pos = 0
        for m in [*SGR.finditer(line), None]:
            chunk = line[pos:m.start() if m else len(line)]
            if chunk:
                style = ",".join(f"{k}={v}" for k, v in sorted(state.items()))
                if runs and runs[-1][0] == style:
                    runs[-1] = (style, runs[-1][1] + chunk)
                else:
                    runs.append((style, chunk))
            if m is None:
                break
            _apply_sgr(state, m.group()[2:-1])
            pos = m.end()
        out.append((SGR.sub("", line), tuple(runs)))
    return out


def _apply_sgr(state: dict[str, str], params: str) -> None:
    codes = params.split(";") if params else ["0"]
    i = 0
    while i < len(codes):
        c = int(codes[i] or 0)
        if c == 0:
            state.clear()
        elif c in (1, 2, 3, 4, 7):
            state[f"a{c}"] = "1"
        elif c in (22, 23, 24, 27):
            state.pop(f"a{c - 20}", None)
            if c == 22:
                state.pop("a2", None)
        elif c in (38, 48) and i + 2 < len(codes) and codes[i + 1] == "5":
            state["fg" if c == 38 else "bg"] = codes[i + 2]
            i += 2
        elif c in (39, 49):
            state.pop("fg" if c == 39 else "bg", None)
        elif 30 <= c <= 37 or 90 <= c <= 97:
            state["fg"] = str(c)
        elif 40 <= c <= 47 or 100 <= c <= 107:
            state["bg"] = str(c)
        i += 1


def _lines_with(screen: str, *marks: str) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    return [line for line in _styled(screen) if line[0].startswith(marks)]


def _enter(t: Tmux, line: str, shown: str) -> None:
    """Type a line and Enter, then wait for `shown` and for the next prompt: keys typed
    while a command runs (the terminal not in the prompt's raw mode) are echoed into its
    output, turning `@c[a]:  1` into `@s@c[a]:  1`, as they would for a person typing
    ahead; a person reads the answer first."""
    prompts = t.screen().count("pytrace>")
    t.type(line)
    t.send("Enter")
    t.expect(shown)
    if not _wait(lambda: t.screen().count("pytrace>") > prompts):
        pytest.fail(f"no prompt after {line!r}; screen:\n{t.screen()}")


def _ask_maps(t: Tmux) -> None:
    """Enter MAPS, then print its maps one at a time."""
    _enter(t, MAPS, "probe 1 attached (BEGIN)")
    for m, shown in (("@c", "@c[bb]: 2"), ("@h", "[256, 512)"), ("@s", "@s: { .count = 2")):
        _enter(t, m, shown)


def test_maps_look_exactly_as_the_cli_shows_them_on_a_terminal(term: Term) -> None:
    cli, cli_rc = term(f"{sys.executable} -m pytrace -e {shlex.quote(MAPS[:-1] + 'exit(); }')}",
                       name="cli")
    _exited(cli_rc, cli)
    t, rc = term()
    t.expect("pytrace>")
    _ask_maps(t)
    marks = ("@c[", "@s:", "[4, 8)", "[256, 512)", "@h:")
    want = _lines_with(cli.screen(colour=True), *marks)
    got = _lines_with(t.screen(colour=True), *marks)
    assert len(want) == 6 and all(len(runs) > 1 for _, runs in want)  # coloured by rich
    assert got[:6] == want  # the same characters in the same colours
    t.type(".quit")
    t.send("Enter")
    _exited(rc, t)


def test_no_color_maps_and_errors_are_the_cli_text(term: Term, tmp_path: Path) -> None:
    piped = subprocess.run([sys.executable, "-m", "pytrace", "-e", MAPS[:-1] + "exit(); }"],
                           capture_output=True, text=True, cwd=ROOT)
    err = subprocess.run([sys.executable, "-m", "pytrace", "-e", "BEGIN { print(nosuch); }"],
                         capture_output=True, text=True, cwd=ROOT).stderr
    t, rc = term(env={"NO_COLOR": "1"})
    t.expect("pytrace>")
    _ask_maps(t)
    _enter(t, "BEGIN { print(nosuch); }", "ERROR: Unknown identifier")
    screen = t.screen(colour=True)
    plain = [SGR.sub("", line) for line in screen.splitlines()]
    hist = piped.stdout[piped.stdout.index("@h:"):].split("\n\n")[0].splitlines()
    at = plain.index("@h:")
    assert plain[at:at + len(hist)] == hist  # row for row, byte for byte
    for line in piped.stdout.splitlines() + err.splitlines():
        if line:
            hit = [s for s in screen.splitlines() if SGR.sub("", s) == line]
            assert hit and all("\x1b[" not in s for s in hit), (line, screen)  # no colour
    t.type(".quit")
    t.send("Enter")
    _exited(rc, t)


def test_redirected_output_gets_exactly_the_cli_text(term: Term, tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    program = MAPS.replace("BEGIN {", 'BEGIN { printf("hello %d\\n", 42);')
    cli = subprocess.run([sys.executable, "-m", "pytrace", "-e", program[:-1] + "exit(); }"],
                         capture_output=True, text=True, cwd=ROOT).stdout
    t, rc = term(redirect=f"> {out}")
    t.expect("pytrace>")  # the prompt is on the terminal (stderr)
    t.type(program)
    t.send("Enter")
    t.expect("probe 1 attached (BEGIN)")  # a message: on the terminal too
    t.type("@c")
    t.send("Enter")
    assert _wait(lambda: "@c[bb]" in out.read_text())
    t.type(".quit")
    t.send("Enter")
    _exited(rc, t)
    data = out.read_text()
    assert "\x1b" not in data and "pytrace>" not in data and "attached" not in data
    # the printf line, @c asked for, then every map at quit exactly as the CLI prints them
    head, maps = cli.split("\n\n\n", 1)
    assert data == f"{head}\n" + cli.split("\n\n\n", 1)[1].split("@h:")[0] + "\n" + maps


def test_errors_are_coloured_and_read_as_the_cli_text(term: Term) -> None:
    cli = subprocess.run([sys.executable, "-m", "pytrace", "-e", "BEGIN { print(nosuch); }"],
                         capture_output=True, text=True, cwd=ROOT).stderr
    t, rc = term()
    t.expect("pytrace>")
    t.type("BEGIN { print(nosuch); }")
    t.send("Enter")
    screen = t.expect("Unknown identifier", colour=True)
    lines = [SGR.sub("", line) for line in screen.splitlines()]
    start = lines.index(cli.splitlines()[0])
    assert "\n".join(lines[start:start + 3]) + "\n" == cli
    coloured = screen.splitlines()[start]
    assert re.search(r"\x1b\[[0-9;]*31[0-9;]*mERROR", coloured), coloured  # red severity
    t.send("C-d")
    _exited(rc, t)


def test_completion_as_you_type_history_suggestions_and_the_toolbar(term: Term) -> None:
    t, rc = term()
    t.expect("pytrace>")
    t.type("BEGIN { @ = count(); @mine = cou")  # no Tab: the menu opens by itself
    t.expect("count() — count the events")  # the toolbar: its signature
    assert "count  " in t.screen() or "count ", t.screen()
    t.type("nt(); }")
    t.send("Enter")
    t.expect("probe 1 attached (BEGIN)")
    t.type("t:syscalls:sys_enter_openat { printf(\"%s\\n\", str(args.")
    screen = t.expect("filename")  # args fields from the format file, under the cursor
    assert "const char *" in screen and "str(ptr[, len])" in screen
    t.cancel()
    t.type("@m")  # a map name at the start of a line
    t.expect("@mine")
    t.cancel()
    t.type(".print ")
    t.send("Tab")
    screen = t.expect(" @ ")  # the anonymous map is offered
    assert "@mine" in screen
    t.cancel()
    t.type(".detach ")
    t.expect("attached")
    t.cancel()
    t.type("BEGIN { @")  # fish-style: the rest of the earlier entry, greyed
    screen = t.expect(" = count(); @mine = count(); }", colour=True)
    assert re.search(r"\x1b\[[0-9;]*90m = count\(\);", screen)  # bright black suggestion
    t.send("Right")  # accepts it
    t.send("Enter")
    t.expect("probe 2 attached (BEGIN)")
    t.type(".quit")
    t.send("Enter")
    _exited(rc, t)


def test_struct_members_and_raw_tracepoint_arguments_from_btf(term: Term) -> None:
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        pytest.skip("the kernel has no BTF")
    t, rc = term()
    t.expect("pytrace>")
    t.type('BEGIN { printf("%d\\n", curtask->tg')  # struct task_struct's members
    screen = t.expect("tgid")
    assert "pid_t" in screen
    t.type("id); }")
    t.send("Enter")
    t.expect("probe 1 attached (BEGIN)")  # what was completed compiles and runs
    t.type("rawtracepoint:sched_switch { @[args.ne")
    t.expect("struct task_struct *")  # `next`, with its C type
    t.type("xt->pi")  # and on through the pointer
    t.expect("pid_t")
    t.cancel()
    t.type(".quit")
    t.send("Enter")
    _exited(rc, t)


def _getppid_in_background(stop: threading.Event) -> threading.Thread:
    def spin() -> None:
        while not stop.is_set():
            os.getppid()
            time.sleep(0.001)
    th = threading.Thread(target=spin, daemon=True)
    th.start()
    return th


def test_watch_several_maps_in_one_layout_and_top(term: Term) -> None:
    t, rc = term()
    t.expect("pytrace>")
    t.type(_mine("@calls = count(); @by[tid] = count(); @gap = hist(nsecs % 1000);"))
    t.send("Enter")
    t.expect("probe 1 attached")
    stop = threading.Event()
    th = _getppid_in_background(stop)
    try:
        t.type(".watch @calls @gap 200ms")
        t.send("Enter")
        screen = t.expect("watching @calls @gap")
        assert _wait(lambda: re.search(r"@calls +\d+ +[\d,.]+/s", t.screen()) is not None)
        screen = t.screen()
        assert "╭─ @gap" in screen and "█" in screen  # the histogram as bars in a panel
        t.send("C-c")
        t.expect("pytrace>")
        t.type(".top 3 200ms")
        t.send("Enter")
        t.expect("top 3 of @by")
        assert _wait(lambda: re.search(r"│ @by +│ \d+ +│ +\d+ │ +[\d,.]+/s", t.screen())
                     is not None), t.screen()
        t.send("C-c")
    finally:
        stop.set()
        th.join()
    t.type(".quit")
    t.send("Enter")
    _exited(rc, t)


def test_edit_replaces_an_entry_live_and_save_load_keep_working(term: Term,
                                                                tmp_path: Path) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/getppid/getpgid/' \"$1\"\n")
    editor.chmod(0o755)
    t, rc = term(env={"EDITOR": str(editor)})
    t.expect("pytrace>")
    t.type(_mine("@ed = count();"))
    t.send("Enter")
    t.expect("probe 1 attached (tracepoint:syscalls:sys_enter_getppid)")
    for _ in range(3):
        os.getppid()
    t.type(".edit 1")
    t.send("Enter")
    t.expect("probe 1 replaced (tracepoint:syscalls:sys_enter_getpgid); its maps keep")
    for _ in range(2):
        os.getpgid(0)
    os.getppid()  # not traced any more
    t.type("@ed")
    t.send("Enter")
    t.expect("@ed: 5")
    script = tmp_path / "saved.bt"
    t.type(f".save {script}")
    t.send("Enter")
    t.expect(f"saved 1 entries to {script}")
    assert script.read_text() == _mine("@ed = count();", "getpgid") + "\n"
    t.type(f".load {script}")
    t.send("Enter")
    t.expect("probe 2 attached (tracepoint:syscalls:sys_enter_getpgid)")
    os.getpgid(0)
    t.type("@ed")
    t.send("Enter")
    t.expect("@ed: 7")  # both entries count into the one map
    t.type(".quit")
    t.send("Enter")
    _exited(rc, t)


def test_terminal_attach_print_detach_exit_and_ctrl_c(term: Term) -> None:
    t, rc = term()
    m = f"@e2e_{os.getpid()}"
    t.expect("pytrace>")
    t.type(_mine(f"{m}[pid] = count();"))
    t.send("Enter")
    t.expect("probe 1 attached (tracepoint:syscalls:sys_enter_getppid)")
    for _ in range(9):
        os.getppid()
    t.type(m)
    t.send("Enter")
    t.expect(f"{m}[{os.getpid()}]: 9")
    t.type(_mine("@ex = count(); exit();"))
    t.send("Enter")
    t.expect("probe 2 attached")
    os.getppid()
    t.expect("probe 2 called exit(): detached")  # only that entry
    t.type(".probes")
    t.send("Enter")
    screen = t.expect("  2  detached")
    assert "  1  attached" in screen
    t.type(".detach 1")
    t.send("Enter")
    t.expect("probe 1 detached")
    for _ in range(4):
        os.getppid()
    t.type("BEGIN {")
    t.send("Enter")  # incomplete: Enter adds a line
    t.expect("...>")
    t.send("C-c")  # cancels the input, not the session
    t.type(".quit")
    t.send("Enter")
    _exited(rc, t)
    screen = t.screen()
    assert screen.count(f"{m}[{os.getpid()}]: 9") == 1  # printed
    assert screen.count(f"{m}[{os.getpid()}]: 10") == 1  # at exit
    assert f"{m}[{os.getpid()}]: 14" not in screen  # detached: no more counting


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


def test_replace_keeps_definitions_and_the_script_order(
        session: tuple[ReplSession, list[str]]) -> None:
    s, _ = session
    s.add("macro thrice(x) { x * 3 }")
    e, _ = s.add(_mine("@rep_def = count();"))
    s.add("config = { max_map_keys = 16 }")
    assert e is not None
    new, _ = s.replace(e.id, _mine("@rep_def = count(); @rep_t = thrice(2);"))
    assert new.live and new.id == e.id
    os.getppid()
    assert s.snapshot("@rep_t").entries[0].value == 6  # the macro still applies
    assert s.script().splitlines() == ["config = { max_map_keys = 16 }",
                                       "macro thrice(x) { x * 3 }",
                                       _mine("@rep_def = count(); @rep_t = thrice(2);")]
    with pytest.raises(EntryError, match="must keep a probe block"):
        s.replace(e.id, "macro other(x) { x }")


def test_an_iterator_entry_runs_once_and_detaches(session: tuple[ReplSession, list[str]]) -> None:
    s, lines = session
    entry, _ = s.add(f'iter:task /ctx.task.pid == {os.getpid()}/ {{ printf("me %d\\n", '
                     "ctx.task.pid); @seen = count(); }")
    assert entry is not None and not entry.live  # retired after its one run
    assert _wait(lambda: f"me {os.getpid()}\n" in "".join(lines)), lines
    assert s.engine.snapshot("@seen").entries  # its map stays
