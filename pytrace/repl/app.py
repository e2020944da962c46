"""The interactive REPL loop: read an entry, run it as a meta command or a probe block
against the live ReplSession, print results; probe output appears above the prompt.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

from prompt_toolkit import PromptSession
from prompt_toolkit.patch_stdout import patch_stdout

from pytrace.repl import meta
from pytrace.repl.session import EntryError, ReplSession

if TYPE_CHECKING:
    from pytrace.prometheus import Server

BANNER = "pytrace interactive session: enter probe blocks, .help for commands, Ctrl-D to quit"


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _error(text: str) -> None:
    sys.stderr.write(text if text.endswith("\n") else text + "\n")
    sys.stderr.flush()


class Repl:
    """Dispatches entries to the session; `run()` is the read-eval-print loop."""

    def __init__(self, session: ReplSession, prompt: PromptSession[str] | None = None,
                 rich: bool = False) -> None:
        self.session = session
        self.prompt = prompt
        self.rich = rich
        self.done = False
        self.server: Server | None = None  # `.serve`: the /metrics endpoint

    # ------------------------------------------------------------ loop
    def run(self) -> int:
        assert self.prompt is not None
        try:
            while not self.done:
                try:
                    with patch_stdout(raw=True):
                        text = self.prompt.prompt()
                except KeyboardInterrupt:
                    continue  # Ctrl-C cancels the current input only
                except EOFError:
                    break
                self.safe_handle(text)
        finally:
            self.quit()
        return 0

    def safe_handle(self, text: str) -> None:
        """handle() with every failure reduced to one error line (the session lives on)."""
        from pytrace.runtime.errors import RuntimeFailure

        try:
            self.handle(text)
        except KeyboardInterrupt:
            _error("interrupted")
        except (RuntimeFailure, OSError, KeyError, ValueError) as exc:
            _error(f"ERROR: {exc}")

    def handle(self, text: str) -> None:
        """Run one entry: blank, a meta command, a bare map name, or a program."""
        if not text.strip():
            return
        if meta.is_meta(text):
            try:
                cmd = meta.parse_meta(text)
            except meta.MetaError as exc:
                _error(f"ERROR: {exc}")
                return
            self.command(cmd)
            return
        name = meta.bare_map(text)
        if name is not None:
            self.print_map(name)
            return
        self.enter(text)

    def enter(self, text: str, name: str = "stdin") -> bool:
        try:
            entry, warnings = self.session.add(text, name)
        except EntryError as exc:
            _error(str(exc))
            return False
        if warnings:
            _error(warnings)
        if entry is None:
            _write("defined (used by the entries that follow)\n")
            return True
        points = ", ".join(entry.attach_points)
        _write(f"probe {entry.id} attached ({points})\n")
        return True

    # ------------------------------------------------------------ meta commands
    def command(self, cmd: meta.MetaCommand) -> None:
        match cmd:
            case meta.Help(topic):
                _write(meta.help_text(topic) + "\n")
            case meta.Probes():
                self.probes()
            case meta.Detach(probe_id):
                self.detach(probe_id)
            case meta.Maps():
                self.maps()
            case meta.Print(name):
                self.print_map(name)
            case meta.Watch(name, interval):
                self.watch(name, interval)
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
            _write("no probes (enter a probe block to attach one)\n")
            return
        for e in entries:
            state = "attached" if e.live else "detached"
            _write(f"{e.id:>3}  {state:<8}  {e.events():>10} events  "
                   f"{', '.join(e.attach_points)}\n")

    def detach(self, eid: int) -> None:
        try:
            self.session.detach(eid)
        except KeyError:
            _error(f"ERROR: no attached probe {eid} (see .probes)")
            return
        _write(f"probe {eid} detached (its maps keep their contents)\n")

    def maps(self) -> None:
        specs = self.session.map_specs
        if not specs:
            _write("no maps yet\n")
            return
        for name in sorted(specs):
            s = specs[name]
            key = f"[{s.key_type}]" if s.key_type is not None else ""
            _write(f"{name}{key}: {s.value_type}\n")

    def _known(self, name: str) -> bool:
        if name in self.session.map_specs:
            return True
        _error(f"ERROR: no map named {name} (see .maps)")
        return False

    def _render(self, name: str) -> str:
        from pytrace.output.text import format_map

        return format_map(self.session.snapshot(name))

    def print_map(self, name: str) -> None:
        if self._known(name):
            _write(self._render(name))

    def clear(self, name: str) -> None:
        if self._known(name):
            self.session.clear(name)
            _write(f"{name} cleared\n")

    def watch(self, name: str, interval: float) -> None:
        if not self._known(name):
            return
        from rich.console import Console, Group
        from rich.live import Live
        from rich.text import Text

        def view() -> Group:
            head = Text(f"{name} every {interval:g}s, {time.strftime('%H:%M:%S')} "
                        "(Ctrl-C to stop)", style="bold")
            return Group(head, Text(self._render(name)))

        console = Console(file=sys.stdout, highlight=False)
        try:
            with Live(view(), console=console, auto_refresh=False) as live:
                while True:
                    time.sleep(interval)
                    live.update(view(), refresh=True)
        except KeyboardInterrupt:
            pass

    def save(self, path: str) -> None:
        text = "".join(t.rstrip("\n") + "\n" for t in self.session.texts)
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            _error(f"ERROR: cannot write {path}: {exc.strerror}")
            return
        _write(f"saved {len(self.session.texts)} entries to {path}\n")

    def load(self, path: str) -> None:
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
        except OSError as exc:
            _error(f"ERROR: cannot read {path}: {exc.strerror}")
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
                _write("stopped serving Prometheus metrics\n")
            return
        if self.server is not None:
            _error(f"ERROR: already serving on {self.server.url} (.serve off first)")
            return
        emit = self.session.emit
        self.server = serve(repl_source(self.session), *address,
                            warn=lambda msg: emit(f"WARNING: {msg}\n"))
        _write(f"serving Prometheus metrics on {self.server.url}\n")

    def quit(self) -> None:
        """END blocks run, the maps print, everything is detached and closed."""
        if self.server is not None:  # before any map fd closes
            self.server.close()
            self.server = None
        try:
            snaps = self.session.finish()
            from pytrace.output.text import format_map

            if snaps:
                _write("\n")
            for s in snaps:
                _write(format_map(s))
        finally:
            self.session.close()


def run_repl(params: list[str] | None = None) -> int:
    """Start the live session and the prompt; returns the exit code."""
    from pytrace.repl.editor import history_path, make_prompt
    from pytrace.runtime.errors import RuntimeFailure

    session = ReplSession(_write, params or [])
    try:
        session.start()
    except RuntimeFailure as exc:
        session.close()
        _error(f"ERROR: {exc}")
        return 1
    hist = None if os.environ.get("PYTRACE_NO_HISTORY") else history_path()
    prompt = make_prompt(session.map_names, hist)
    _write(BANNER + "\n")
    return Repl(session, prompt).run()
