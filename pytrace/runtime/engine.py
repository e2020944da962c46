"""The tracing engine under the CLI, the REPL and the Python API.

An Engine owns one set of maps (a LoadedObject) and any number of program groups. A
group is the programs of one compiled object (the CLI has one; each REPL entry is one)
with its own ring buffer, lost counter and record Dispatcher. User maps are shared by
name between groups; a group's internal maps are private to it (renamed `NAME.TAG`),
except the one stack map, whose ids shared user maps may hold.

Works from BpfObjects only: it never sees the AST.
"""

from __future__ import annotations

import dataclasses
import select
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from pytrace.resources import (
    DW_ROWS_MAP,
    GLOBAL_CPID,
    GLOBAL_EXITING,
    GLOBAL_START_NS,
    GLOBAL_TAI_OFFSET,
    GLOBAL_WALL_OFFSET,
    RUN_KINDS,
    STACKS_MAP,
    USTACK_PIDS_MAP,
    BpfObject,
    MapSpec,
    Resources,
)
from pytrace.runtime import kmulti, umulti
from pytrace.runtime import maps as bpfmaps
from pytrace.runtime.attach import (
    AttachFailure,
    Attachment,
    attach_all,
    detach_all,
    run_test,
    stop_all,
)
from pytrace.runtime.decode import StrFormat, snapshot
from pytrace.runtime.dispatch import Dispatcher, Sink
from pytrace.runtime.errors import RuntimeFailure
from pytrace.runtime.features import check_feature, check_kernel_variables
from pytrace.runtime.iterators import run as run_iterator
from pytrace.runtime.iterators import with_btf_ids
from pytrace.runtime.loader import LOG_SIZE, LoadedObject, LoadedProgram, LoadSettings
from pytrace.runtime.procmaps import probed_binaries
from pytrace.runtime.ringbuf import RingBuffer
from pytrace.runtime.symbols import Symbolizer, add_dw_readers, session_symbolizer
from pytrace.runtime.usdtsem import Activation, activate
from pytrace.values import MapSnapshot

if TYPE_CHECKING:
    from pytrace.runtime.dwtables import DwarfTables, TableWriter

EMPTY = BpfObject(b"", Resources())
FULL_CHECK_SECONDS = 1.0


def tai_offset_ns() -> int:
    """CLOCK_TAI - CLOCK_BOOTTIME now (what nsecs(sw_tai) adds to the boot clock)."""
    return (time.clock_gettime_ns(time.CLOCK_TAI) - time.clock_gettime_ns(
        time.CLOCK_BOOTTIME)) & ((1 << 64) - 1)


class EngineSink(Sink, Protocol):
    """A Sink that also takes the engine's own notices."""

    def lost(self, n: int) -> None: ...
    def warning(self, msg: str) -> None: ...


@dataclass
class Group:
    """One compiled object's programs, live in the engine."""

    id: int
    resources: Resources
    programs: list[LoadedProgram]
    dispatcher: Dispatcher | None = None
    attachments: list[Attachment] = field(default_factory=list)
    ring: RingBuffer | None = None
    lost_seen: int = 0
    live: bool = True
    released: bool = False  # programs, ring buffer and private maps closed (retire())
    retiring: bool = False  # retire() was asked while its records were being dispatched
    final_runs: int = 0  # runs() when released
    semaphores: Activation = field(default_factory=Activation)  # raised by pytrace itself
    dw_tables: TableWriter | None = None  # writes dw_ustack tables into its maps

    def stop_semaphores(self) -> None:
        self.semaphores.release()

    @property
    def covers(self) -> int:
        """The user-visible probes this group attached (a syscall dispatcher serves many)."""
        return sum(p.spec.covers for p in self.programs if p.spec.kind not in RUN_KINDS)

    def kind(self, kind: str) -> list[LoadedProgram]:
        return [p for p in self.programs if p.spec.kind == kind]

    def runs(self) -> int:
        """How many times this group's programs ran (0 without BPF stats enabled)."""
        from pytrace.runtime.syscalls import prog_stats

        if self.released:
            return self.final_runs
        total = 0
        for p in self.programs:
            try:
                total += prog_stats(p.fd)[1]
            except OSError:
                pass
        return total


def load_settings(res: Resources) -> LoadSettings:
    """The license and verifier log size the program was compiled with."""
    return LoadSettings(str(res.setting("license", "GPL")),
                        int(res.setting("log_size", LOG_SIZE)))


def private_maps(res: Resources, tag: str) -> Resources:
    """Rename the internal maps (`__…`) to `NAME.TAG` so groups do not share them."""
    def rename(name: str) -> str:
        return f"{name}.{tag}" if name.startswith("__") and name != STACKS_MAP else name

    maps = tuple(dataclasses.replace(m, name=rename(m.name)) for m in res.maps)
    return dataclasses.replace(res, maps=maps, ringbuf_map=rename(res.ringbuf_map),
                               lost_map=rename(res.lost_map),
                               globals_map=rename(res.globals_map))


class Engine:
    """Shared maps, program groups, and the records they produce."""

    def __init__(self, sink: EngineSink) -> None:
        self.sink = sink
        self.loaded = LoadedObject(EMPTY, load_probes=False)
        self.groups: list[Group] = []
        self.map_specs: dict[str, MapSpec] = {}  # user maps by name
        self.zeroed: set[str] = set()  # maps zero()ed since their last clear()
        self.symbolizer: Symbolizer | None = None
        self.start_ns = time.monotonic_ns()
        self.lock = threading.RLock()
        self._full_warned: set[str] = set()
        self._full_checked = 0.0
        self._next_id = 1
        self._draining: Group | None = None

    # ------------------------------------------------------------ groups
    def add(self, obj: BpfObject, *, first_probe: int = 0, tag: str = "",
            target_pid: int | None = None, child_pid: int | None = None,
            on_exit: Callable[[Group, int], None] | None = None,
            skip: frozenset[int] = frozenset(),
            on_attach_failure: AttachFailure | None = None,
            usdt_file_activation: bool = False, run_begin: bool = False,
            dwarf: DwarfTables | None = None) -> Group:
        """Load and attach a compiled object's programs from probe index `first_probe`
        (BEGIN/END are loaded, not run). All or nothing: a failure undoes everything the
        group created and raises. `tag` makes the group's internal maps private.
        skip: probe indexes not to load; on_attach_failure: attach failures are reported
        to it and skipped (`missing_probes` warn/ignore) instead of failing the group.
        usdt_file_activation: where the kernel does not count USDT semaphores, raise
        them in every process mapping the probed file (runtime/usdtsem.py).
        run_begin: run BEGIN once loaded, before anything is attached, so its output
        precedes every event in the ring buffer (as bpftrace's does).
        dwarf: dw_ustack's unwind tables, written into the maps before anything runs."""
        with self.lock:
            res = private_maps(obj.resources, tag) if tag else obj.resources
            uses_dw = any(m.name.startswith(DW_ROWS_MAP) for m in res.maps)
            if uses_dw:
                from pytrace.runtime.dwtables import sized

                res = sized(res, dwarf.capacity if dwarf is not None else 1)
            self._check_shapes(res)
            check_kernel_variables(res.ksyms)
            for feature in res.features:
                check_feature(feature)
            before = set(self.loaded.map_names())
            group = Group(self._next_id, res, [])
            try:
                probes = umulti.prepare(with_btf_ids(p for p in res.probes
                                                     if p.index >= first_probe
                                                     and p.index not in skip))
                group.programs = self.loaded.load_programs(obj.elf, probes, res.maps,
                                                           load_settings(res), res.ksyms)
                kmulti.fill(res, (p.spec for p in group.programs), self.loaded.map_fd)
                self._write_global(res, GLOBAL_START_NS, self.start_ns)
                self._write_global(res, GLOBAL_WALL_OFFSET,
                                   (time.time_ns() - time.monotonic_ns()) & ((1 << 64) - 1))
                self._write_global(res, GLOBAL_TAI_OFFSET, tai_offset_ns())
                if child_pid is not None:
                    self._write_global(res, GLOBAL_CPID, child_pid)
                rb = res.map(res.ringbuf_map)
                group.ring = RingBuffer(self.loaded.map_fd(rb.name), rb.max_entries)
                if uses_dw:
                    from pytrace.runtime.dwtables import TableWriter

                    group.dw_tables = TableWriter(res, self.loaded.map_fd)
                    for table in (dwarf.tables if dwarf is not None else []):
                        group.dw_tables.write(table)
                new_maps = set(self.loaded.map_names()) - before
                if self.symbolizer is None or STACKS_MAP in new_maps:
                    old = self.symbolizer
                    self.symbolizer = session_symbolizer(res, self.loaded.map_fd)
                    if old is not None:
                        self.symbolizer.dw_readers[:0] = old.dw_readers
                elif uses_dw:
                    add_dw_readers(self.symbolizer, res, self.loaded.map_fd)
                self.symbolizer.fixed.add_all(probed_binaries(res))
                if run_begin:
                    self.run(group, "BEGIN")
                group.attachments = attach_all(
                    (p for p in group.programs if p.spec.kind not in RUN_KINDS),
                    target_pid, on_attach_failure)
                group.semaphores = activate((p.spec for p in group.programs),
                                            usdt_file_activation)
            except BaseException:
                self._undo(group, before)
                raise
            exit_cb = on_exit or (lambda g, code: None)
            group.dispatcher = Dispatcher(res, self, self.sink, lambda: self.symbolizer,
                                          lambda code: exit_cb(group, code))
            self._next_id += 1
            self.groups.append(group)
            for m in res.maps:
                if m.is_user:
                    self.map_specs[m.name] = m
            return group

    def _check_shapes(self, res: Resources) -> None:
        for m in res.maps:
            old = self.map_specs.get(m.name)
            if old is not None and (old.kind, old.key_size, old.value_size) != (
                    m.kind, m.key_size, m.value_size):
                raise RuntimeFailure(f"map {m.name} already exists with a different key or "
                                     "value size")

    def _undo(self, group: Group, before: set[str]) -> None:
        group.stop_semaphores()
        detach_all(group.attachments)
        group.attachments = []
        if group.ring is not None:
            group.ring.close()
            group.ring = None
        self.loaded.unload(group.programs)
        self.loaded.remove_maps(set(self.loaded.map_names()) - before)

    def exiting(self, group: Group) -> bool:
        """Whether the group's programs ran exit() (the flag in __globals), even when
        its exit record could not be written (a full ring buffer)."""
        name = group.resources.globals_map
        if group.released or name not in self.loaded.specs:
            return False
        vals = bpfmaps.lookup(self.loaded.map_fd(name), group.resources.map(name),
                              struct.pack("<I", GLOBAL_EXITING))
        if not vals:
            return False
        return bool(struct.unpack_from("<Q", vals[0])[0])

    def _write_global(self, res: Resources, index: int, value: int) -> None:
        name = res.globals_map
        if name in self.loaded.specs:
            bpfmaps.update(self.loaded.map_fd(name), res.map(name), struct.pack("<I", index),
                           struct.pack("<Q", value))

    def run(self, group: Group, kind: str) -> None:
        """Run a group's BEGIN or END programs now, in this process."""
        for p in group.kind(kind):
            run_test(p.fd)

    def run_iterators(self, group: Group, write: Callable[[str], None]) -> bool:
        """Run the group's iter probes (read each to its end, or pin it); whether it
        had any. Their records are dispatched after each."""
        ran = False
        for att in group.attachments:
            if att.spec.kind == "iter" and att.fds:
                run_iterator(att.spec, att.fds[0], write)
                self.drain(group)
                ran = True
        return ran

    def stop(self, group: Group) -> None:
        """Stop the group's programs at once (their BPF links close); detach() finishes."""
        group.stop_semaphores()
        stop_all(group.attachments)

    def detach(self, group: Group, wait: bool = True) -> None:
        """Detach the group's probes; its maps keep their contents."""
        with self.lock:
            group.stop_semaphores()
            detach_all(group.attachments, wait=wait)
            group.attachments = []
            group.live = False

    def retire(self, group: Group) -> None:
        """Detach a group for good and release its programs, ring buffer and private
        maps (its user maps stay). Safe inside the group's own dispatch (exit())."""
        with self.lock:
            if group.released:
                return
            self.detach(group)
            if self._draining is group:
                group.retiring = True
                return
            self.drain(group)
            group.final_runs = group.runs()
            if group.ring is not None:
                group.ring.close()
                group.ring = None
            self.loaded.unload(group.programs)
            self.loaded.remove_maps(m.name for m in group.resources.maps
                                    if not m.is_user and m.name != STACKS_MAP)
            group.released = True

    def group(self, gid: int) -> Group | None:
        return next((g for g in self.groups if g.id == gid), None)

    # ------------------------------------------------------------ records
    def wait(self, timeout: float) -> None:
        """Sleep until some live group's ring buffer has records, at most `timeout` s."""
        rings = [g.ring for g in self.groups if g.ring is not None]
        if not rings:
            time.sleep(timeout)
            return
        try:
            select.select(rings, [], [], timeout)
        except (InterruptedError, ValueError, OSError):
            pass

    def drain(self, group: Group, limit: int = 0) -> int:
        """Dispatch the group's records committed so far (at most `limit` if > 0), in
        batches, and report its lost ones; how many records were read. Records that
        arrive meanwhile wait for the next call, so a busy probe cannot keep us here."""
        with self.lock:
            ring, dispatcher = group.ring, group.dispatcher
            if ring is None or dispatcher is None:
                return 0
            until = ring.producer_pos()
            read = 0
            self._draining = group
            try:
                while not limit or read < limit:
                    batch = ring.read(max_records=limit - read if limit else 0, until=until)
                    if batch is None:
                        break
                    read += batch.records
                    try:
                        dispatcher.handle_batch(batch)
                    finally:
                        batch.release()  # (again) even when dispatching failed
            finally:
                self._draining = None
            self.report_lost(group)
            if group.retiring:
                group.retiring = False
                self.retire(group)
            return read

    def drain_all(self, limit: int = 0) -> int:
        return sum(self.drain(g, limit) for g in list(self.groups))

    def report_lost(self, group: Group) -> None:
        if group.resources.lost_map not in self.loaded.specs:
            return
        lost = bpfmaps.read_lost(self.loaded.map_fd(group.resources.lost_map))
        if lost > group.lost_seen:
            self.sink.lost(lost - group.lost_seen)
            group.lost_seen = lost

    # ------------------------------------------------------------ maps
    def map_names(self) -> list[str]:
        return sorted(self.map_specs)

    def snapshot(self, name: str) -> MapSnapshot:
        """Read and decode a user map now; KeyError if there is no such map."""
        with self.lock:
            spec = self.map_specs[name]
            raw = bpfmaps.read_all(self.loaded.map_fd(name), spec)
            # probe ids index the newest group's names: a REPL entry is compiled after
            # every earlier one, so its list extends theirs
            res = self.groups[-1].resources if self.groups else None
            names = res.probe_names if res is not None else ()
            strings = StrFormat(res.max_strlen, res.str_trunc_trailer) if res else None
            return snapshot(spec, raw, names, self.symbolizer, name in self.zeroed, strings)

    def snapshots(self) -> list[MapSnapshot]:
        """Every non-empty user map, by name."""
        out = []
        for name in self.map_names():
            snap = self.snapshot(name)
            if not snap.empty:
                out.append(snap)
        return out

    def clear(self, name: str) -> None:
        with self.lock:
            self.zeroed.discard(name)
            bpfmaps.clear(self.loaded.map_fd(name), self.map_specs[name])

    def forget_stack_pid(self, pid: int) -> None:
        """Let process `pid` be announced again (PID_SEEN) by its next user stack: its
        first one was taken before it exec'd, so those mappings are not its own."""
        with self.lock:
            if USTACK_PIDS_MAP in self.loaded.map_names():
                bpfmaps.delete(self.loaded.map_fd(USTACK_PIDS_MAP), struct.pack("<Q", pid))

    def zero(self, name: str) -> None:
        with self.lock:
            self.zeroed.add(name)
            bpfmaps.zero(self.loaded.map_fd(name), self.map_specs[name])

    def unwatch(self, address: int) -> None:
        """unwatch(addr): detach every watchpoint on that address."""
        with self.lock:
            for g in self.groups:
                keep = []
                for a in g.attachments:
                    if a.spec.kind == "watchpoint" and \
                            int(a.spec.attach.get("address", -1)) == address:
                        a.close()
                    else:
                        keep.append(a)
                g.attachments = keep

    def check_full(self, force: bool = False) -> None:
        """Warn once per hash map that holds its maximum number of keys (checked at most
        once a second). Arrays always hold all their slots and LRU maps evict old keys:
        neither is ever "full"."""
        now = time.monotonic()
        if not force and now - self._full_checked < FULL_CHECK_SECONDS:
            return
        self._full_checked = now
        with self.lock:
            for name, spec in self.map_specs.items():
                if name in self._full_warned or spec.kind.is_array or spec.kind.lru:
                    continue
                if len(bpfmaps.keys(self.loaded.map_fd(name), spec)) >= spec.max_entries:
                    self._full_warned.add(name)
                    self.sink.warning(
                        f"Map {name} is full ({spec.max_entries} keys): updates of existing "
                        "keys continue, new keys are dropped. Raise the max_map_keys config "
                        f"or declare the map larger (let {name} = hash(N);)")

    # ------------------------------------------------------------ teardown
    def close(self, detach_first: bool = True) -> None:
        """Detach every group and release every fd (idempotent)."""
        with self.lock:
            for g in self.groups:
                g.stop_semaphores()
            if detach_first:
                detach_all([a for g in self.groups for a in g.attachments])
            for g in self.groups:
                g.attachments = []
                g.live = False
                if g.ring is not None:
                    g.ring.close()
                    g.ring = None
            self.loaded.close()
