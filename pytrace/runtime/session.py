"""One program's tracing session: one program group on an Engine — load, attach, run
BEGIN, poll the ring buffer, stop, run END, show the maps, and release every fd on any
exit. The one run loop under the CLI (`run_session`) and the Python API
(`pytrace.Session`, which gives it an event-collecting output).

Works from a BpfObject (ELF + Resources) only; never sees the AST.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any

from pytrace.output.guard import guard_output, session_stopping
from pytrace.resources import DW_ROWS_MAP, BpfObject, ProbeSpec, Resources
from pytrace.runtime.attach import release_in_background, stop_all
from pytrace.runtime.child import Child, PidWatch, is_stopped
from pytrace.runtime.engine import Engine, Group
from pytrace.runtime.errors import FeatureUnavailable, RuntimeFailure
from pytrace.runtime.features import check_privileges, check_probe_kind
from pytrace.runtime.loader import LoadedObject
from pytrace.runtime.procmaps import command_binary, process_binary

if TYPE_CHECKING:
    from pytrace.runtime.dwtables import DwarfTables
    from pytrace.runtime.entrystop import EntryStop

POLL_SECONDS = 0.2




@dataclass(slots=True)
class _Stop:
    requested: bool = False
    code: int = 0
    signals: int = 0  # SIGINT/SIGTERM received; a second one hurries the exit
    by_exit: bool = False  # exit() asked (not the end of begin/end-only programs)


@dataclass
class Session:
    """Runs one compiled object on an Engine. `output` implements pytrace.output.Output."""

    obj: BpfObject
    output: Any
    child: Child | None = None
    target_pid: int | None = None  # -p: uprobes/usdt attach to this process
    usdt_file_activation: bool = False  # --usdt-file-activation
    engine: Engine | None = None
    group: Group | None = None
    stop: _Stop = field(default_factory=_Stop)
    finished: bool = False
    signals: int = 0  # SIGUSR1s received and not yet handled
    child_resumed: bool = False  # the -c child was continued after its first stack
    watch: PidWatch | None = None  # -p PID (no -c): the session stops when it exits
    dwarf_pids: tuple[int, ...] = ()  # --dwarf-pid: more processes dw_ustack unwinds
    _exit_unseen: int = 0  # steps since exit()'s flag was seen without its record

    @property
    def resources(self) -> Resources:
        return self.obj.resources

    @property
    def loaded(self) -> LoadedObject | None:
        return self.engine.loaded if self.engine is not None else None

    @property
    def stopping(self) -> bool:
        """exit(), a signal, a duration or the child's exit asked the program to stop."""
        return self.stop.requested

    # ------------------------------------------------------------ setup
    def start(self) -> None:
        """Load everything, attach, run BEGIN; raises RuntimeFailure on any problem."""
        check_privileges()
        policy = str(self.resources.setting("missing_probes", "error"))
        missing: set[int] = set()
        for kind in sorted({p.kind for p in self.resources.probes}):
            try:
                check_probe_kind(kind)
            except FeatureUnavailable as exc:
                if policy == "error":
                    raise
                self._missing(policy, str(exc))
                missing |= {p.index for p in self.resources.probes if p.kind == kind}
        self.engine = Engine(self.output)
        child_pid = self.child.pid if self.child is not None else None
        dwarf = self._dwarf_tables()

        def attach_failed(spec: ProbeSpec, exc: RuntimeFailure) -> None:
            missing.add(spec.index)
            self._missing(policy, str(exc))

        self.group = self.engine.add(self.obj, child_pid=child_pid,
                                     target_pid=child_pid if child_pid is not None
                                     else self.target_pid, on_exit=self._exit,
                                     skip=frozenset(missing),
                                     on_attach_failure=None if policy == "error"
                                     else attach_failed,
                                     usdt_file_activation=self.usdt_file_activation,
                                     run_begin=True, dwarf=dwarf)
        self._known_binaries()
        if self.engine.symbolizer is not None:
            self.engine.symbolizer.give_up = lambda: self.stop.signals >= 2
        if self.target_pid is not None and self.child is None and self.watch is None:
            self.watch = PidWatch(self.target_pid)
        self.output.attached(sum(p.covers for p in self.resources.probes
                                 if p.index not in missing))
        self._release_child(dwarf is not None)
        self.engine.drain(self.group)
        if not self.stop.requested and self.engine.run_iterators(self.group, self.output.printf):
            self.stop.requested = True  # an iteration (or pinning it) is the whole run
        if not self._has_live_probes() and self.child is None:
            self.stop.requested = True  # BEGIN/END only: nothing will ever fire

    def _dwarf_tables(self) -> DwarfTables | None:
        """dw_ustack's unwind tables of the -p and --dwarf-pid processes (None when the
        program has no dw_ustack); room is reserved for the -c child's."""
        if not any(m.name.startswith(DW_ROWS_MAP) for m in self.resources.maps):
            return None
        from pytrace.runtime.dwtables import CHILD_ROWS, DwarfTables
        pids = list(self.dwarf_pids)
        if self.target_pid is not None and self.child is None:
            pids.insert(0, self.target_pid)
        tables = DwarfTables.build(pids, reserve=CHILD_ROWS if self.child is not None else 0)
        for t in tables.tables:
            if not t.count:
                self.output.warning(_no_table(t.pid))
        return tables

    def _release_child(self, dwarf: bool) -> None:
        """Let the -c child exec; with dw_ustack, hold it at its entry point while its
        unwind table is built (until then it has an empty one: no warning)."""
        entry = self._child_entry_stop() if dwarf else None
        try:
            if entry is not None and self.group is not None and self.group.dw_tables:
                self.group.dw_tables.placeholder(entry.pid)
            if self.child is not None:
                self.child.release()
                if self.child.stopped_before_exec and self.engine is not None:
                    self.engine.forget_stack_pid(self.child.pid)  # a stack of pytrace's own
            if entry is not None:
                self._child_table(entry)
        finally:
            if entry is not None:
                entry.close()

    def _child_entry_stop(self) -> EntryStop | None:
        """The -c child's stop at its entry point (its table is built there)."""
        from pytrace.runtime.entrystop import EntryStop

        if self.child is None:
            return None
        path = command_binary(self.child.argv)
        try:
            return EntryStop(path, self.child.pid) if path else None
        except (OSError, RuntimeFailure):
            self.output.warning(_no_table(self.child.pid))
            return None

    def _child_table(self, entry: EntryStop) -> None:
        from pytrace.runtime.dwtables import CHILD_ROWS, build_table

        try:  # a stop before the entry (a probe's first stack of the child) is continued
            if entry.wait():
                if self.engine is not None and self.engine.symbolizer is not None:
                    self.engine.symbolizer.snapshot(entry.pid)  # libraries mapped now
                table = build_table(entry.pid)
                writer = self.group.dw_tables if self.group is not None else None
                if not table.count:
                    self.output.warning(_no_table(entry.pid))
                elif writer is not None and not writer.write(table):
                    self.output.warning(f"dw_ustack: the unwind table of process {entry.pid} "
                                        f"has {table.count} rows, more than the "
                                        f"{CHILD_ROWS} reserved for it; its stacks will "
                                        "have their current frame only")
            elif not self.child or not self.child.exited():
                self.output.warning(_no_table(entry.pid))  # it never reached its entry
        finally:
            entry.release()

    def _known_binaries(self) -> None:
        """Stacks of the -c command and the -p process resolve after they exit: the -p
        process's mappings are read now, and both executables are known (non-PIE ones
        resolve without mappings)."""
        sym = self.engine.symbolizer if self.engine is not None else None
        if sym is None:
            return
        if self.child is not None:
            sym.fixed.add_all(b for b in [command_binary(self.child.argv)] if b)
        if self.target_pid is not None:
            sym.snapshot(self.target_pid)
            sym.fixed.add_all(b for b in [process_binary(self.target_pid)] if b)

    def _resume_child(self) -> None:
        """The -c child stops itself (SIGSTOP from its probe) the first time a probe takes
        its user stack: read its mappings, then let it go on (once)."""
        child = self.child
        if child is None or self.child_resumed or not is_stopped(child.pid):
            return
        if self.engine is not None and self.engine.symbolizer is not None:
            self.engine.symbolizer.snapshot(child.pid)
        self.child_resumed = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGCONT)

    def _missing(self, policy: str, message: str) -> None:
        """A probe that cannot be attached, with missing_probes = warn or ignore."""
        if policy == "warn":
            self.output.warning(f"{message} (skipped: missing_probes = warn)")

    def _exit(self, group: Group, code: int) -> None:
        if not self.stop.requested:
            self.stop.code = code
        self.stop.requested = True
        self.stop.by_exit = True

    # ------------------------------------------------------------ loop
    def _has_live_probes(self) -> bool:
        """Probes that can still fire: attached ones (missing probes skipped under
        missing_probes = warn/ignore do not count), and self:signal probes."""
        if self.group is not None and self.group.attachments:
            return True
        return any(p.kind == "self" for p in self.resources.probes)

    def step(self, timeout: float = POLL_SECONDS) -> bool:
        """Wait up to `timeout` s for records and dispatch them; whether the program is
        still running (False once exit(), a signal or the child's exit stopped it)."""
        engine, group = self.engine, self.group
        assert engine is not None and group is not None, "start() first"
        if self.stop.requested:
            return False
        engine.wait(timeout)
        self.run_signal_probes()
        engine.drain(group)
        self._resume_child()
        engine.check_full()
        if not self.stop.requested and engine.exiting(group):
            # exit() ran but its record never came (the ring buffer was full): stop
            # once a whole step has passed without it
            self._exit_unseen += 1
            if self._exit_unseen > 1:
                self.stop.requested = True
        if (self.child is not None and self.child.exited()) or (
                self.watch is not None and self.watch.exited()):
            engine.drain(group)
            self.stop.requested = True
        return not self.stop.requested

    def run(self, duration: float | None = None) -> int:
        """Poll until exit(), a signal, the child's exit or `duration` seconds; then
        finish. Returns the exit code."""
        if self.resources.mode != "run":
            return self.run_mode()
        deadline = None if duration is None else time.monotonic() + duration
        while not self.stop.requested:
            wait = POLL_SECONDS
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    break
            self.step(wait)
        return self.finish()

    def run_mode(self) -> int:
        """--test / --bench: run the tests or the benchmarks (unless begin called exit()),
        then finish without the maps."""
        assert self.engine is not None and self.group is not None, "start() first"
        from pytrace.runtime import modes

        if not self.stop.by_exit:
            if self.resources.mode == "test":
                failed = modes.run_tests(self.engine, self.group, self.output)
                self.stop.code = self.stop.code or failed
            else:
                modes.run_benchmarks(self.engine, self.group, self.output)
        return self.finish()

    def request_stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        self.stop.requested = True
        self.stop.signals += 1 if signum else 0

    def on_signal(self, signum: int = 0, frame: FrameType | None = None) -> None:
        """SIGUSR1 with self:signal:SIGUSR1 probes: run them from the poll loop."""
        self.signals += 1

    def run_signal_probes(self) -> None:
        if self.signals and self.engine is not None and self.group is not None:
            self.signals = 0
            self.engine.run(self.group, "self")

    def finish(self) -> int:
        """Stop every probe, run END, drain, show the maps at exit (once; later calls
        only return the exit code). No maps with print_maps_on_exit = false (the exit's
        blank lines still end the output), none at all in --test/--bench mode."""
        engine, group = self.engine, self.group
        if engine is not None and group is not None and not self.finished:
            self.finished = True
            self.stop.requested = True
            engine.stop(group)  # programs stop now; close() releases the perf events
            engine.drain(group)  # records still in flight (after an exit(): dropped)
            self._resume_child()
            if group.dispatcher is not None:
                group.dispatcher.exited = False  # END's own output is shown
            engine.run(group, "END")
            engine.drain(group)
            engine.check_full(force=True)
            if self.resources.mode == "run":
                wanted = self.resources.setting("print_maps_on_exit", 1)
                self.output.maps_at_exit(engine.snapshots() if wanted else [])
            self.output.flush()
        return self.stop.code

    def close(self, in_background: bool = False) -> None:
        """Release every fd. in_background (for a process about to exit): the perf events,
        whose release costs the kernel one RCU grace period each, are released by a
        short-lived forked process, so the user does not wait for them."""
        engine = self.engine
        if engine is not None:
            attachments = [a for g in engine.groups for a in g.attachments]
            stop_all(attachments)
            if in_background:
                release_in_background(attachments)
            engine.close()
            self.engine = None
        if self.child is not None:
            self.child.kill()
        if self.watch is not None:
            self.watch.close()


@contextlib.contextmanager
def stop_on_signals(session: Session,
                    signums: Sequence[int] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[None]:
    """While inside: these signals ask the session to stop (the loop then finishes
    cleanly) instead of raising KeyboardInterrupt. Outside the main thread, where Python
    cannot set handlers, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.getsignal(s) for s in signums}
    for s in old:
        signal.signal(s, session.request_stop)
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextlib.contextmanager
def self_signals(session: Session) -> Iterator[None]:
    """While inside, with self:signal:SIGUSR1 probes: SIGUSR1 runs them (from the poll
    loop). Without such probes SIGUSR1 keeps its default action (maps are not printed
    on SIGUSR1 any more)."""
    if threading.current_thread() is not threading.main_thread() or \
            not any(p.kind == "self" for p in session.resources.probes):
        yield
        return
    old = signal.getsignal(signal.SIGUSR1)
    signal.signal(signal.SIGUSR1, session.on_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGUSR1, old)


SessionHook = Callable[[Session], None]


def _no_table(pid: int) -> str:
    return (f"dw_ustack: found no DWARF unwind information for process {pid}; its "
            "stacks will have their current frame only")


def run_session(obj: BpfObject, output: Any, child_argv: Sequence[str] | None = None,
                exiting: bool = False, target_pid: int | None = None,
                on_start: SessionHook | None = None, on_stop: SessionHook | None = None,
                usdt_file_activation: bool = False,
                dwarf_pids: Sequence[int] = ()) -> int:
    """Run a compiled object to completion with signal handling; always cleans up.

    exiting: the caller exits right after (the CLI): release perf events in the background.
    target_pid: -p PID. usdt_file_activation: --usdt-file-activation.
    dwarf_pids: --dwarf-pid (processes whose unwind tables dw_ustack needs).
    on_start: called once the session has started (maps exist, probes attached), before
      the loop; on_stop: called on every exit before any fd is closed (whether or not
      on_start ran). `--prometheus` serves the maps between the two.
    """
    child = Child(child_argv) if child_argv else None
    session = Session(obj, output, child, target_pid, usdt_file_activation,
                      dwarf_pids=tuple(dwarf_pids))
    guard_output(output, session_stopping(session))  # a stuck reader cannot stop us stopping
    with stop_on_signals(session), self_signals(session):
        try:
            session.start()
            if on_start is not None:
                on_start(session)
            return session.run()
        finally:
            if on_stop is not None:
                on_stop(session)
            session.close(in_background=exiting)
