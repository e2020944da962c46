"""ModuleGen: one LLVM module for a whole program — map globals, one function per
expanded attach point — and the Resources that describe it to the runtime."""

from __future__ import annotations

import os
from dataclasses import replace

from llvmlite import ir

from pytrace import nodes
from pytrace.codegen import kmulti, mapiter
from pytrace.codegen.emitter import ProgEmitter
from pytrace.codegen.errors import CodegenError, StackOverflow
from pytrace.codegen.events import EventTable
from pytrace.codegen.llvm import DATA_LAYOUT, TRIPLE
from pytrace.codegen.maps import (
    declare_map_global,
    dw_map_specs,
    internal_map_specs,
    ringbuf_bytes,
    scratch_map_spec,
    stack_map_spec,
    user_map_spec,
    ustack_pids_spec,
)
from pytrace.passes.context import CheckedProgram
from pytrace.passes.walk import probe_roots, walk
from pytrace.probes.syscall_numbers import syscall_number
from pytrace.probes.target import ProbeTarget
from pytrace.resources import (
    EXPECTED_ATTACH_TYPES,
    RINGBUF_MAP,
    RUN_KINDS,
    SCRATCH_MAP,
    EventKind,
    MapSpec,
    ProbeSpec,
    ProgType,
    Resources,
)
from pytrace.types import StackT, StrT, StructT, SymT

_UNSET = object()
# Program types whose programs may call bpf_get_current_task_btf() and load through the
# pointer (checked against this kernel's verifier: tests/runtime/test_comm_btf.py).
TASK_BTF_PROG_TYPES = frozenset({ProgType.TRACEPOINT, ProgType.RAW_TRACEPOINT,
                                 ProgType.PERF_EVENT, ProgType.KPROBE})

DISPATCH_MIN = 8  # fewer syscall tracepoints (or kernel functions) than this attach one by one
Group = tuple[str, list[tuple[int, ProbeTarget]]]
MAX_MAPS_PER_PROGRAM = 64  # the kernel's MAX_USED_MAPS


def dw_ustack_limit(checked: CheckedProgram) -> int:
    """The most frames a dw_ustack of the program keeps (0: it uses none)."""
    limit = 0
    for cp in checked.probes:
        for root in probe_roots(cp.probe):
            for n in walk(root):
                if isinstance(n, nodes.Call | nodes.Identifier) and n.name == "dw_ustack":
                    t = checked.types.get(n)
                    limit = max(limit, t.limit if isinstance(t, StackT) else 127)
    return limit


def _maps_of(fn: ir.Function, globals_: dict[str, ir.GlobalVariable]) -> set[str]:
    """Names of the maps whose globals fn's instructions refer to."""
    by_global = {id(gv): name for name, gv in globals_.items()}
    out: set[str] = set()
    for block in fn.blocks:
        for ins in block.instructions:
            for op in getattr(ins, "operands", ()):
                name = by_global.get(id(op))
                if name is not None:
                    out.add(name)
    return out


def _attach_span(probe: nodes.Probe) -> tuple[int, ...]:
    """Where a probe's attach points are written (what errors about the probe underline)."""
    if not probe.attach_points:
        return ()
    first, last = probe.attach_points[0].span, probe.attach_points[-1].span
    if first.line <= 0:
        return ()
    return (first.line, first.col, last.end_line, last.end_col)


def no_builtins(ir_text: str) -> str:
    """Mark every function "no-builtins": LLVM must never turn a byte loop into a call
    to memset/memcpy/bcmp/strlen, which BPF cannot make (the backend would abort)."""
    return "\n".join(line.replace(") nounwind ", ') nounwind "no-builtins" ', 1)
                     if line.startswith("define ") else line
                     for line in ir_text.split("\n"))


def possible_cpus() -> int:
    try:
        with open("/sys/devices/system/cpu/possible") as f:
            text = f.read().strip()
        total = 0
        for part in text.split(","):
            lo, _, hi = part.partition("-")
            total += (int(hi) if hi else int(lo)) - int(lo) + 1
        return total
    except (OSError, ValueError):
        return os.cpu_count() or 1


class ModuleGen:
    ncpus: int

    def __init__(self, checked: CheckedProgram, max_keys: int | None = None) -> None:
        self.checked = checked
        self.module = ir.Module(name=checked.source.name)
        self.module.triple = TRIPLE
        self.module.data_layout = DATA_LAYOUT
        self.events = EventTable()
        self.ncpus = possible_cpus()
        self.probe_names: list[str] = []
        self._probe_index: dict[str, int] = {}
        self._callbacks: dict[str, list[ir.Function]] = {}
        self.specs: dict[str, MapSpec] = {}
        self.globals: dict[str, ir.GlobalVariable] = {}
        keys = max_keys or checked.options.max_map_keys
        for info in checked.maps.values():
            self._add_map(replace(user_map_spec(info, keys), key_names=info.key_names))
        for spec in internal_map_specs():  # the ring buffer is sized in _size_ringbuf
            self._add_map(spec)
        if any(isinstance(t, StackT) for t in checked.types.values()):
            self._add_map(stack_map_spec())
        if any(isinstance(t, StackT | SymT) and not t.kernel for t in checked.types.values()):
            self._add_map(ustack_pids_spec())
        dw_limit = dw_ustack_limit(checked)
        # with dw_ustack the -c child is held at its entry point (its mappings are read
        # there), so no probe needs to stop it at its first stack
        self.uses_dw_ustack = dw_limit > 0
        if dw_limit:
            for spec in dw_map_specs(dw_limit):
                self._add_map(spec)
        self.probes: list[ProbeSpec] = []
        self._task_comm: object = _UNSET
        self.scratch_size = 0  # the largest scratch element any function uses
        self.ksyms: dict[str, int] = {}  # ELF symbol of a kernel variable -> BTF id
        self.features: list[str] = []  # helpers to check at start (Resources.features)
        self.uses_exit = any(isinstance(n, nodes.Call) and n.name == "exit"
                             for cp in checked.probes for root in probe_roots(cp.probe)
                             for n in walk(root))

    def _size_ringbuf(self) -> None:
        """perf_rb_pages (the environment, the config block or the caller's Options),
        else room for a burst of the largest record an attached probe sends (BEGIN/END
        run in this process and are drained at once; exit() sends one record)."""
        run_here = {p.name for p in self.probes if p.kind in RUN_KINDS}
        burst = max((ev.size for ev in self.events.events
                     if ev.kind != EventKind.EXIT and ev.probe not in run_here), default=0)
        spec = self.specs[RINGBUF_MAP]
        size = ringbuf_bytes(self.checked.options.perf_rb_pages, burst)
        self.specs[RINGBUF_MAP] = replace(spec, max_entries=size)

    def task_comm_offset(self, prog_type: ProgType) -> int | None:
        """Where `comm` is in kernel BTF's struct task_struct, for programs of a type
        whose verifier lets them load through bpf_get_current_task_btf()'s pointer;
        None (use bpf_get_current_comm) without kernel BTF or for other types."""
        if prog_type not in TASK_BTF_PROG_TYPES:
            return None
        if self._task_comm is _UNSET:
            self._task_comm = None
            btf = self.checked.type_table.btf()
            task = btf.lookup("struct task_struct") if btf is not None else None
            if isinstance(task, StructT):
                found = task.field("comm")
                if found is not None and isinstance(found[0], StrT) and found[0].length == 16:
                    self._task_comm = found[1]
        return self._task_comm  # type: ignore[return-value]

    def _add_map(self, spec: MapSpec) -> None:
        self.specs[spec.name] = spec
        self.globals[spec.name] = declare_map_global(self.module, spec)

    def scratch_global(self) -> ir.GlobalVariable:
        """The per-CPU scratch map (one element per probe block), declared on first use;
        its value size is known once every function is built."""
        if SCRATCH_MAP not in self.globals:
            self.globals[SCRATCH_MAP] = declare_map_global(self.module, scratch_map_spec(0, 1))
        return self.globals[SCRATCH_MAP]

    def ksym(self, name: str, btf_id: int) -> ir.GlobalVariable:
        """An external symbol standing for kernel variable `name` (its address is
        loaded through BTF, see runtime/loader.py)."""
        symbol = f"ksym_{name}"
        gv = self.module.globals.get(symbol)
        if gv is None:
            gv = ir.GlobalVariable(self.module, ir.IntType(8), symbol)
            self.ksyms[symbol] = btf_id
        return gv  # type: ignore[return-value]

    def require(self, feature: str) -> None:
        """The program needs a helper the kernel may refuse (checked at start)."""
        if feature not in self.features:
            self.features.append(feature)

    def note_scratch(self, used: int) -> None:
        self.scratch_size = max(self.scratch_size, used)

    def map_spec(self, name: str) -> MapSpec:
        return self.specs[name]

    def map_global(self, name: str) -> ir.GlobalVariable:
        return self.globals[name]

    def _check_map_count(self, fn: ir.Function, probe: nodes.Probe) -> None:
        """The kernel lets one program use at most 64 maps: say so where it is written."""
        used = {name for f in self._with_callbacks(fn) for name in _maps_of(f, self.globals)}
        if len(used) > MAX_MAPS_PER_PROGRAM:
            users = sorted(n for n in used if not n.startswith("__"))
            raise CodegenError(f"this probe uses {len(used)} maps, but one BPF program may use "
                               f"at most {MAX_MAPS_PER_PROGRAM} ({', '.join(users[:5])}, ...): "
                               "use fewer maps (one map with a key can hold what several "
                               "maps hold)", probe.attach_points[0] if probe.attach_points
                               else probe)

    def note_callback(self, program: str, fn: ir.Function) -> None:
        """fn is a for-loop callback linked into the program named `program`."""
        self._callbacks.setdefault(program, []).append(fn)

    def _with_callbacks(self, fn: ir.Function) -> list[ir.Function]:
        """fn and the for-loop callbacks it calls (linked into the same program)."""
        return [fn, *self._callbacks.get(fn.name, ())]

    def emit_for_map(self, p: ProgEmitter, s: nodes.For) -> None:
        """`for ($kv : @m)` inside program p (a callback of its own)."""
        mapiter.emit_for_map(p, s)

    def emit_map_len(self, p: ProgEmitter, name: str) -> ir.Value:
        return mapiter.emit_map_len(p, name)

    def probe_name_index(self, name: str) -> int:
        index = self._probe_index.get(name)
        if index is None:
            index = self._probe_index[name] = len(self.probe_names)
            self.probe_names.append(name)
        return index

    def _groups(self, targets: list[ProbeTarget]) -> list[ProbeTarget | Group]:
        """Targets to compile one program each, and wide syscall globs to dispatch and
        wide kprobe/kretprobe globs to attach with one kprobe_multi link (a group:
        ('sys_enter'|'sys_exit'|'kprobe'|'kretprobe', [(sort key, target)]))."""
        out: list[ProbeTarget | Group] = []
        dispatch: dict[str, list[tuple[int, ProbeTarget]]] = {
            "sys_enter": [], "sys_exit": [], "kprobe": [], "kretprobe": []}
        grouping = not os.environ.get("PYTRACE_NO_DISPATCH")
        seen: dict[str, set[str]] = {"kprobe": set(), "kretprobe": set()}
        for t in targets:
            event = str(t.attach.get("event", ""))
            nr = syscall_number(event) if t.kind == "tracepoint" and t.attach.get("category") == "syscalls" else None
            direction = "sys_enter" if event.startswith("sys_enter_") else "sys_exit"
            if grouping and kmulti.groupable(t):
                if t.func not in seen[t.kind]:
                    seen[t.kind].add(t.func)
                    dispatch[t.kind].append((len(dispatch[t.kind]), t))
                else:
                    out.append(t)  # listed twice: attached twice, as bpftrace
            elif nr is not None and any(n == nr for n, _ in dispatch[direction]):
                out.append(t)  # listed twice (overlapping globs): attached twice, as bpftrace
            elif nr is None or not grouping:
                out.append(t)
            else:
                dispatch[direction].append((nr, t))
        for direction, cases in dispatch.items():
            if len(cases) >= DISPATCH_MIN:
                out.append((direction, cases))
            else:
                out.extend(t for _, t in cases)
        return out

    def _kmulti(self, n: int, kind: str, cases: list[tuple[int, ProbeTarget]], bi: int,
                fn_name: str, section: str) -> tuple[ProgEmitter, ProbeSpec]:
        """The emitter and spec of one kprobe_multi program for many functions."""
        for _, t in cases:
            self.probe_name_index(t.name)
        self._add_map(kmulti.map_spec(n, len(cases)))
        first = cases[0][1]
        em = ProgEmitter(self, first, bi, fn_name, section)
        funcs = "\n".join(t.func for _, t in cases)
        spec = ProbeSpec(n, f"{kind}:{first.func}", kind, section, first.prog_type,
                         {"funcs": funcs, "retprobe": int(kind == "kretprobe")},
                         expected_attach_type=kmulti.BPF_TRACE_KPROBE_MULTI, covers=len(cases))
        return em, spec

    def build(self) -> tuple[str, Resources]:
        """Emit every program; CodegenError/StackOverflow carry the offending node."""
        n = 0
        for bi, cp in enumerate(self.checked.probes):
            for group in self._groups(cp.live):
                fn_name, section = f"prog_{n}", f"probe_{n}"
                if isinstance(group, ProbeTarget):
                    em = ProgEmitter(self, group, bi, fn_name, section)
                    spec = ProbeSpec(n, group.name, group.kind, section, group.prog_type,
                                     dict(group.attach),
                                     expected_attach_type=EXPECTED_ATTACH_TYPES.get(group.kind, 0))
                    self.probe_name_index(group.name)
                elif group[0] in kmulti.KINDS:
                    em, spec = self._kmulti(n, group[0], group[1], bi, fn_name, section)
                else:
                    direction, cases = group
                    cases.sort(key=lambda c: c[0])
                    for _, t in cases:
                        self.probe_name_index(t.name)
                    em = ProgEmitter(self, cases[0][1], bi, fn_name, section)
                    spec = ProbeSpec(n, f"tracepoint:raw_syscalls:{direction}", "tracepoint", section,
                                     cases[0][1].prog_type, {"category": "raw_syscalls", "event": direction},
                                     covers=len(cases))
                try:
                    if isinstance(group, ProbeTarget):
                        em.emit_probe(cp.probe)
                    elif group[0] in kmulti.KINDS:
                        kmulti.emit(em, cp.probe, n)
                    else:
                        em.emit_dispatch(cp.probe, group[1])
                except StackOverflow as exc:
                    raise CodegenError(str(exc), cp.probe) from None
                self.note_scratch(em.scratch_used)
                self._check_map_count(em.fn, cp.probe)
                spec = replace(spec, span=_attach_span(cp.probe))
                self.probes.append(spec)
                n += 1
        self._size_ringbuf()
        if SCRATCH_MAP in self.globals:
            self.specs[SCRATCH_MAP] = scratch_map_spec(self.scratch_size,
                                                       max(1, len(self.checked.probes)))
        opts = self.checked.options
        resources = Resources(
            maps=tuple(self.specs.values()),
            probes=tuple(self.probes),
            events=tuple(self.events.events),
            probe_names=tuple(self.probe_names),
            config=tuple(sorted(self.checked.config.items())),
            imports=tuple(self.checked.imported_files),
            headers=tuple(self.checked.headers),
            max_strlen=opts.max_strlen,
            str_trunc_trailer=opts.str_trunc_trailer,
            warnings=opts.warning_level > 0,
            max_cat_bytes=opts.max_cat_bytes,
            named_params=tuple(self.checked.named_params),
            ksyms=tuple(self.ksyms.items()),
            features=tuple(self.features),
        )
        return no_builtins(str(self.module)), resources
