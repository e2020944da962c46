"""The interactive REPL loop: read an entry, run it as a meta command or a probe block
against the live ReplSession, print results; probe output appears above the prompt.

Maps are printed through the same output sinks as the CLI (RichOutput on a colour
terminal, the bpftrace-exact TextOutput with NO_COLOR or off a terminal); errors are
the compiler's text, coloured on a colour terminal. Only prompt_toolkit is imported
before the prompt appears: the engine and the compiler are imported in the background.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, TextIO, cast

from prompt_toolkit.patch_stdout import patch_stdout

from pytrace.repl.commands import is_meta

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from rich.console import RenderableType

    from pytrace.output import TextOutput
    from pytrace.prometheus import Server
    from pytrace.repl import meta
    from pytrace.repl.completer import Context
    from pytrace.repl.session import ReplSession
    from pytrace.values import MapSnapshot

BANNER = "pytrace interactive session: enter probe blocks, .help for commands, Ctrl-D to quit"


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _error_raw(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


class Repl:
    """Dispatches entries to the session; `run()` is the read-eval-print loop."""

    def __init__(self, session: ReplSession, prompt: PromptSession[str] | None = None,
                 rich: bool = False, split: bool = False) -> None:
        self.session = session
        # split: stdout is not a terminal; the REPL's own messages go to the terminal
        # (stderr) and stdout gets only the data, exactly as the CLI writes it
        self.split = split
        self.say: Callable[[str], None] = _error_raw if split else _write
        self.prompt = prompt
        self.colour = rich
        self.done = False
        self.server: Server | None = None  # `.serve`: the /metrics endpoint
        self._out: TextOutput | None = None

    @property
    def out(self) -> TextOutput:
        """The sink of the maps asked for (`@m`, `.print`, at quit): the CLI's, never
        rate limited (made on first use: rich is not imported before the prompt)."""
        if self._out is None:
            from pytrace.repl.session import Screen, make_sink

            self._out = make_sink(cast(TextIO, Screen(_write, tty=self.colour)),
                                  cast(TextIO, Screen(_error_raw)), self.colour)
        return self._out

    # ------------------------------------------------------------ loop
    def run(self) -> int:
        assert self.prompt is not None
        try:
            while not self.done:
                try:
                    with patch_stdout(raw=True) if not self.split else nullcontext():
                        text = self.prompt.prompt()
                except KeyboardInterrupt:
                    continue  # Ctrl-C cancels the current input only
                except EOFError:
                    break
                self.safe_handle(text)
        finally:
            self.quit()
        return 0

    def error(self, text: str) -> None:
        """An error or warning text (the CLI's words), coloured on a colour terminal."""
        text = text if text.endswith("\n") else text + "\n"
        if self.colour:
            from pytrace.repl.colour import colour_diagnostics

            text = colour_diagnostics(text)
        _error_raw(text)

    def safe_handle(self, text: str) -> None:
        """handle() with every failure reduced to one error line (the session lives on)."""
        from pytrace.runtime.errors import RuntimeFailure

        try:
            self.handle(text)
        except KeyboardInterrupt:
            self.error("interrupted")
        except (RuntimeFailure, OSError, KeyError, ValueError) as exc:
            self.error(f"ERROR: {exc}")

    def handle(self, text: str) -> None:
        """Run one entry: blank, a meta command, a bare map name, or a program."""
        if not text.strip():
            return
        from pytrace.repl import meta  # the parsers: imported after the prompt appeared

        if is_meta(text):
            try:
                cmd = meta.parse_meta(text)
            except meta.MetaError as exc:
                self.error(f"ERROR: {exc}")
                return
            self.command(cmd)
            return
        name = meta.bare_map(text)
        if name is not None:
            self.print_map(name)
            return
        self.enter(text)

    def enter(self, text: str, name: str = "stdin") -> bool:
        from pytrace.repl.session import EntryError

        try:
            entry, warnings = self.session.add(text, name)
        except EntryError as exc:
            self.error(str(exc))
            return False
        if warnings:
            self.error(warnings)
        if entry is None:
            self.say("defined (used by the entries that follow)\n")
            return True
        points = ", ".join(entry.attach_points)
        self.say(f"probe {entry.id} attached ({points})\n")
        return True

    # ------------------------------------------------------------ meta commands
    def command(self, cmd: meta.MetaCommand) -> None:
        from pytrace.repl import meta

        match cmd:
            case meta.Help(topic):
                self.say(meta.help_text(topic) + "\n")
            case meta.Probes():
                self.probes()
            case meta.Detach(probe_id):
                self.detach(probe_id)
            case meta.Maps():
                self.maps()
            case meta.Print(name):
                self.print_map(name)
            case meta.Watch(names, interval):
                self.watch(names, interval)
            case meta.Top(rows, names, interval):
                self.top(rows, names, interval)
            case meta.Edit(probe_id):
                self.edit(probe_id)
            case meta.Clear(name):
                self.clear(name)
            case meta.Save(path):
                self.save(path)
            case meta.Load(path):
                self.load(path)
            case meta.Quit():
                self.done = True
            case meta.Serve(address):
                self.serve(address)

    def probes(self) -> None:
        entries = self.session.entries
        if not entries:
            self.say("no probes (enter a probe block to attach one)\n")
            return
        for e in sorted(entries, key=lambda e: e.id):
            state = "attached" if e.live else "detached"
            self.say(f"{e.id:>3}  {state:<8}  {e.events():>10} events  "
                   f"{', '.join(e.attach_points)}\n")

    def detach(self, eid: int) -> None:
        try:
            self.session.detach(eid)
        except KeyError:
            self.error(f"ERROR: no attached probe {eid} (see .probes)")
            return
        self.say(f"probe {eid} detached (its maps keep their contents)\n")

    def maps(self) -> None:
        specs = self.session.map_specs
        if not specs:
            self.say("no maps yet\n")
            return
        for name in sorted(specs):
            self.say(f"{name}{map_type(self.session, name)}\n")

    def _known(self, name: str) -> bool:
        if name in self.session.map_specs:
            return True
        self.error(f"ERROR: no map named {name} (see .maps)")
        return False

    def print_map(self, name: str) -> None:
        if self._known(name):
            self.out.map(self.session.snapshot(name))

    def clear(self, name: str) -> None:
        if self._known(name):
            self.session.clear(name)
            self.say(f"{name} cleared\n")

    # ------------------------------------------------------------ live views
    def _live_maps(self, names: tuple[str, ...], keyed: bool) -> list[str] | None:
        known = self.session.map_specs
        if names:
            unknown = [n for n in names if n not in known]
            if unknown:
                self.error(f"ERROR: no map named {unknown[0]} (see .maps)")
                return None
            return list(names)
        chosen = [n for n in sorted(known) if not keyed or known[n].key_type is not None]
        if not chosen:
            self.error("ERROR: no keyed maps to show yet" if keyed else "ERROR: no maps yet")
            return None
        return chosen

    def watch(self, names: tuple[str, ...], interval: float) -> None:
        """`.watch`: the maps in one layout, refreshed until Ctrl-C."""
        chosen = self._live_maps(names, keyed=False)
        if chosen is None:
            return
        from pytrace.repl.live import Rates, watch_view

        rates = Rates()
        what = "watching " + " ".join(chosen)
        self._live(lambda: watch_view(self._snapshots(chosen), rates, what, interval), interval)

    def top(self, rows: int, names: tuple[str, ...], interval: float) -> None:
        """`.top`: the largest keys of the maps in one table, refreshed until Ctrl-C."""
        chosen = self._live_maps(names, keyed=True)
        if chosen is None:
            return
        from pytrace.repl.live import Rates, top_view

        rates = Rates()
        self._live(lambda: top_view(self._snapshots(chosen), rates, rows, interval), interval)

    def _snapshots(self, names: list[str]) -> list[MapSnapshot]:
        return [self.session.snapshot(n) for n in names]

    def _live(self, view: Callable[[], RenderableType], interval: float) -> None:
        from rich.console import Console
        from rich.live import Live

        console = Console(file=sys.stderr if self.split else sys.stdout, highlight=False,
                          force_terminal=self.colour or None, no_color=not self.colour)
        try:
            with Live(view(), console=console, auto_refresh=False,
                      vertical_overflow="crop") as live:
                while True:
                    time.sleep(interval)
                    live.update(view(), refresh=True)
        except KeyboardInterrupt:
            pass

    # ------------------------------------------------------------ edit, save, load
    def edit(self, eid: int) -> None:
        """`.edit ID`: the entry's text in $VISUAL/$EDITOR, then replaced live."""
        from pytrace.repl.editing import EditError, edit_text
        from pytrace.repl.session import EntryError

        entry = self.session.entry(eid)
        if entry is None:
            self.error(f"ERROR: no probe {eid} (see .probes)")
            return
        try:
            text = edit_text(entry.text)
        except EditError as exc:
            self.error(f"ERROR: {exc}")
            return
        if text.strip() == entry.text.strip():
            self.say(f"probe {eid} unchanged\n")
            return
        try:
            new, warnings = self.session.replace(eid, text)
        except EntryError as exc:
            self.error(str(exc))
            return
        if warnings:
            self.error(warnings)
        self.say(f"probe {eid} replaced ({', '.join(new.attach_points)}); "
               "its maps keep their contents\n")

    def save(self, path: str) -> None:
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write(self.session.script())
        except OSError as exc:
            self.error(f"ERROR: cannot write {path}: {exc.strerror}")
            return
        self.say(f"saved {len(self.session.entries)} entries to {path}\n")

    def load(self, path: str) -> None:
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
        except OSError as exc:
            self.error(f"ERROR: cannot read {path}: {exc.strerror}")
            return
        if text.startswith("#!"):
            text = "".join(text.splitlines(keepends=True)[1:])
        if text.strip():
            self.enter(text, path)

    def serve(self, address: tuple[str, int] | None) -> None:
        """`.serve [HOST:]PORT`: serve the session's maps at scrape time; `.serve off`."""
        from pytrace.prometheus import repl_source, serve

        if address is None:
            if self.server is not None:
                self.server.close()
                self.server = None
                self.say("stopped serving Prometheus metrics\n")
            return
        if self.server is not None:
            self.error(f"ERROR: already serving on {self.server.url} (.serve off first)")
            return
        emit = self.session.emit
        self.server = serve(repl_source(self.session), *address,
                            warn=lambda msg: emit(f"WARNING: {msg}\n"))
        self.say(f"serving Prometheus metrics on {self.server.url}\n")

    def quit(self) -> None:
        """END blocks run, the maps print, everything is detached and closed."""
        if self.server is not None:  # before any map fd closes
            self.server.close()
            self.server = None
        try:
            snaps = self.session.finish()
            if snaps:
                _write("\n")
            for s in snaps:
                self.out.map(s)
        finally:
            self.session.close()


def map_type(session: ReplSession, name: str) -> str:
    """`[int64]: count` : the key and value types of a map as `.maps` shows them."""
    s = session.map_specs.get(name)
    if s is None:
        return ""
    key = f"[{s.key_type}]" if s.key_type is not None else ""
    return f"{key}: {s.value_type}"


def completion_context(session: ReplSession) -> Callable[[], Context]:
    """The live sources completion reads (called for each completion)."""
    from pytrace.repl.completer import Context

    def context() -> Context:
        return Context(maps=session.map_names,
                       map_types=lambda n: map_type(session, n).lstrip(": "),
                       entries=lambda: [(e.id, e.live) for e in session.entries],
                       defined=lambda: "\n".join(session.texts))
    return context


def status_line(session: ReplSession) -> Callable[[], str]:
    def status() -> str:
        live = sum(1 for e in session.entries if e.live)
        maps = len(session.map_names())
        return (f"{live} probe{'s' if live != 1 else ''} attached · "
                f"{maps} map{'s' if maps != 1 else ''}")
    return status


def _warm_after_first_render(prompt: PromptSession[str], session: ReplSession) -> None:
    """Once the prompt is on screen, import the engine and compiler in the background."""
    def start(_: Any) -> None:
        prompt.app.after_render -= start
        threading.Thread(target=_warm, args=(session,), name="pytrace-repl-warm",
                         daemon=True).start()
    prompt.app.after_render += start


def _warm(session: ReplSession) -> None:
    try:
        session.warm()
    except Exception:  # noqa: BLE001 - only a head start: the first entry imports anyway
        pass


def run_repl(params: list[str] | None = None) -> int:
    """Start the live session and the prompt; returns the exit code."""
    from pytrace.repl.colour import colour_wanted
    from pytrace.repl.editor import history_path, make_prompt
    from pytrace.repl.session import ReplSession
    from pytrace.runtime.errors import RuntimeFailure

    colour = colour_wanted()
    split = not sys.stdout.isatty()
    session = ReplSession(_write, params or [], colour=colour,
                          notice=_error_raw if split else None)
    try:
        session.start()
    except RuntimeFailure as exc:
        session.close()
        _error_raw(f"ERROR: {exc}\n")
        return 1
    hist = None if os.environ.get("PYTRACE_NO_HISTORY") else history_path()
    prompt = make_prompt(completion_context(session), hist, status=status_line(session),
                         output=_terminal_output() if split else None)
    _warm_after_first_render(prompt, session)
    (_error_raw if split else _write)(BANNER + "\n")
    return Repl(session, prompt, rich=colour, split=split).run()


def _terminal_output() -> Any:
    """The prompt's output when stdout is redirected: the terminal on stderr."""
    from prompt_toolkit.output import create_output

    return create_output(sys.stderr)
