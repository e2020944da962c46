"""The frozen contract between the compiler and the runtime.

The runtime receives a `BpfObject` (ELF bytes + Resources) and never the AST. Everything
it needs to create maps, load and attach programs, decode ring-buffer records and print
maps is described here. Everything is plain data (pytrace/codec.py serialises it for
the compiled-object cache).
"""

from __future__ import annotations

from dataclasses import field
from enum import IntEnum

from pytrace.frozen import frozen
from pytrace.types import Type

# Internal maps every program has (user maps are named '@...'; internal ones '__...').
RINGBUF_MAP = "__ringbuf"  # RINGBUF: every asynchronous record (printf, print, exit, ...)
LOST_MAP = "__lost"  # PERCPU_ARRAY[1] u64: records that could not be reserved
GLOBALS_MAP = "__globals"  # ARRAY u64 slots userspace writes at start (see GLOBAL_*)
STACKS_MAP = "__stacks"  # STACK_TRACE: only when a program uses kstack/ustack
USTACK_PIDS_MAP = "__ustack_pids"  # LRU_HASH pid -> 0: processes whose user addresses were taken
SCRATCH_MAP = "__scratch"  # PERCPU_ARRAY, one element per probe block: large values
# dw_ustack (runtime/dwtables.py fills the first two at start; codegen/dwunwind.py reads them)
DW_ROWS_MAP = "__dw_rows"  # ARRAY of unwind rows (runtime/cfi.py ROW), sorted per process
DW_PIDS_MAP = "__dw_pids"  # HASH pid -> (first row, row count) in __dw_rows
DW_STACKS_MAP = "__dw_stacks"  # HASH stack id -> the unwound addresses (0-terminated)
DW_SCRATCH_MAP = "__dw_scratch"  # PERCPU_ARRAY[1]: the addresses of the stack being unwound
DW_WARNED_MAP = "__dw_warned"  # LRU_HASH pid -> 0: processes warned about (no unwind table)
DW_STACK_TAG = 1 << 62  # set in dw_ustack ids (bpf_get_stackid ids are below 2**32)

# __globals slots
GLOBAL_START_NS = 0  # CLOCK_MONOTONIC ns when tracing started (for `elapsed`)
GLOBAL_CPID = 1  # pid of the -c child (for `cpid`)
GLOBAL_EXITING = 2  # set by exit(): every probe of the program does nothing from then on
GLOBAL_WALL_OFFSET = 3  # CLOCK_REALTIME - CLOCK_MONOTONIC ns at start (tseries intervals)
GLOBAL_TAI_OFFSET = 4  # CLOCK_TAI - CLOCK_BOOTTIME in ns at start (for `nsecs(sw_tai)`)
GLOBAL_SLOTS = 8


class EventKind:
    """The kinds of ring-buffer record (EventSpec.kind); plain strings so Resources stay
    simple data. Each record is `u64 event id` followed by the EventSpec's fields."""

    PRINTF = "printf"  # fmt + args
    PRINT_VALUE = "print_value"  # args[0]
    PRINT_MAP = "print_map"  # map_name; args: top, div
    CLEAR = "clear"  # map_name
    ZERO = "zero"  # map_name
    EXIT = "exit"  # args[0]: the exit code
    TIME = "time"  # fmt (strftime)
    # args[0]: a pid whose user stack or address a probe took for the first time, so
    # userspace reads its mappings while it lives (internal: no sink sees it)
    PID_SEEN = "pid_seen"
    CAT = "cat"  # fmt + args: the path of a file userspace prints
    SYSTEM = "system"  # fmt + args: a command userspace runs (--unsafe)
    JOIN = "join"  # args[0]: the joined strings (NUL-separated); fmt: the separator
    ERRORF = "errorf"  # fmt + args, printed as a located ERROR (loc)
    WARNF = "warnf"  # fmt + args, printed as a located WARNING (loc)
    DEBUGF = "debugf"  # fmt + args, printed as a located DEBUG line (loc)
    RUNTIME_ERROR = "runtime_error"  # fmt: the message (divide by zero ...); loc
    HELPER_ERROR = "helper_error"  # fmt: the helper's name; args[0]: its return code; loc
    UNWATCH = "unwatch"  # args[0]: the address whose watchpoints userspace removes

    ALL = (PRINTF, PRINT_VALUE, PRINT_MAP, CLEAR, ZERO, EXIT, TIME, CAT, SYSTEM, JOIN,
           ERRORF, WARNF, DEBUGF, RUNTIME_ERROR, HELPER_ERROR, UNWATCH, PID_SEEN)
    LOCATED = (ERRORF, WARNF, DEBUGF, RUNTIME_ERROR, HELPER_ERROR)


# Probe kinds whose programs pytrace runs itself (BPF_PROG_TEST_RUN) instead of
# attaching them: begin/end, self:signal:*, test:NAME (--test), bench:NAME (--bench).
RUN_KINDS = frozenset({"BEGIN", "END", "self", "test", "bench"})


class MapKind(IntEnum):
    """BPF map types (values are the kernel's BPF_MAP_TYPE_*)."""

    HASH = 1
    ARRAY = 2
    PERF_EVENT_ARRAY = 4
    PERCPU_HASH = 5
    PERCPU_ARRAY = 6
    STACK_TRACE = 7
    LRU_HASH = 9
    LRU_PERCPU_HASH = 10
    RINGBUF = 27

    @property
    def percpu(self) -> bool:
        return self in (MapKind.PERCPU_HASH, MapKind.PERCPU_ARRAY, MapKind.LRU_PERCPU_HASH)

    @property
    def lru(self) -> bool:
        """LRU maps evict old keys when full: they are never "full"."""
        return self in (MapKind.LRU_HASH, MapKind.LRU_PERCPU_HASH)

    @property
    def is_array(self) -> bool:
        return self in (MapKind.ARRAY, MapKind.PERCPU_ARRAY)


class ProgType(IntEnum):
    KPROBE = 2  # kprobes and uprobes
    XDP = 6  # bench probes: the test run of an XDP program can repeat and time it
    TRACEPOINT = 5
    PERF_EVENT = 7
    RAW_TRACEPOINT = 17
    TRACING = 26


# BPF_PROG_LOAD's expected_attach_type of the probe kinds that need one
BPF_TRACE_FENTRY = 24
BPF_TRACE_FEXIT = 25
EXPECTED_ATTACH_TYPES = {"fentry": BPF_TRACE_FENTRY, "fexit": BPF_TRACE_FEXIT,
                         "iter": 28}  # BPF_TRACE_ITER


@frozen
class MapSpec:
    """One BPF map.

    name: the user's name ('@', '@x') or an internal one starting with '__'.
    symbol: the ELF global whose relocations refer to this map.
    key_type: the user key (a TupleT for multi-key maps; None when unkeyed — then the
      BPF key is a zero u64, or a u32 0 for array maps). For hist/lhist the BPF key is
      the user key followed by a u64 bucket index (key_size includes it).
    value_type: an AggT for aggregations, else the stored value's type.
    key_names: one name per decoded key component, from the key expressions
      (pytrace/keynames.py); empty when unkeyed or unknown. Prometheus label names.
    """

    name: str
    symbol: str
    kind: MapKind
    key_size: int
    value_size: int
    max_entries: int
    key_type: Type | None = None
    value_type: Type | None = None
    key_names: tuple[str, ...] = ()

    @property
    def is_user(self) -> bool:
        return not self.name.startswith("__")


@frozen
class ProbeSpec:
    """One BPF program and where it attaches.

    name: the expanded attach point as `probe` prints it ('tracepoint:syscalls:sys_enter_read').
    kind: 'BEGIN' 'END' 'tracepoint' 'rawtracepoint' 'interval' 'profile' 'software'
      'hardware' 'uprobe' 'uretprobe' 'usdt' 'kprobe' 'kretprobe' 'fentry' 'fexit'.
    section: the ELF section holding the program's code.
    attach: kind-specific parameters, e.g.
      tracepoint: {'category': 'syscalls', 'event': 'sys_enter_read'}
      rawtracepoint: {'event': 'sys_enter'}
      interval: {'period_ns': 1000000000}
      profile: {'freq': 99} or {'period_ns': N}
      software/hardware: {'type': 1, 'config': 2, 'period': 100}
      uprobe/uretprobe/usdt: {'path': '/bin/bash', 'offset': 1234, 'retprobe': 0}
      kprobe/kretprobe: {'func': 'do_sys_open', 'offset': 0}
      fentry/fexit: {'func': 'vfs_read', 'btf_id': 1234} plus 'btf_module' when the
        function's BTF is a module's (loaded with that BTF object's fd); on a running
        BPF program (fentry:bpf) 'btf_id' is the FUNC's id in that program's BTF, plus
        'prog_id' (its fd is attach_prog_fd) and 'prog_btf_id' (its BTF object)
    """

    index: int
    name: str
    kind: str
    section: str
    prog_type: ProgType
    attach: dict[str, str | int] = field(default_factory=dict)
    expected_attach_type: int = 0
    covers: int = 1  # user-visible probes this program serves (a syscall dispatcher serves many)
    span: tuple[int, ...] = ()  # (line, col, end_line, end_col) of the probe's attach points


@frozen
class FieldSpec:
    """One argument inside a ring-buffer record: byte offset from the record start."""

    offset: int
    type: Type


@frozen
class SourceLoc:
    """Where in the program a record was sent from (errorf, runtime warnings): enough
    for userspace to print `FILE:LINE:COL-END: WARNING: ...`, the line and `~~~`."""

    filename: str
    line: int
    col: int
    end_col: int
    text: str  # the source line

    @property
    def location(self) -> str:
        return f"{self.filename}:{self.line}:{self.col}-{self.end_col}"


@frozen
class EventSpec:
    """One kind of ring-buffer record. Every record starts with a u64 event id.

    kind: one of EventKind (what each carries is written there).
    probe: the expanded attach point of the probe whose code sends this record
      ('tracepoint:syscalls:sys_enter_read', 'BEGIN'); Python events carry it.
    probe_offset: where one compiled body serves several probes (the wide syscall
      dispatcher) the record carries the probe instead: a u64 index into
      Resources.probe_names at this offset (0: none, `probe` says it).
    loc: the source location, for EventKind.LOCATED kinds.
    """

    id: int
    kind: str
    fmt: str = ""
    args: tuple[FieldSpec, ...] = ()
    map_name: str = ""
    size: int = 8
    probe: str = ""
    probe_offset: int = 0
    loc: SourceLoc | None = None


@frozen
class Resources:
    maps: tuple[MapSpec, ...] = ()
    probes: tuple[ProbeSpec, ...] = ()
    events: tuple[EventSpec, ...] = ()
    ringbuf_map: str = RINGBUF_MAP
    lost_map: str = LOST_MAP  # PERCPU_ARRAY, 1 entry, u64: records that could not be submitted
    globals_map: str = GLOBALS_MAP
    probe_names: tuple[str, ...] = ()  # values of ProbeNameT index this
    # Every config variable's effective value (pytrace/config.py), by name.
    config: tuple[tuple[str, str | int], ...] = ()
    imports: tuple[str, ...] = ()  # files the program imported (the cache checks them)
    headers: tuple[str, ...] = ()  # C headers the program included (compile cache deps)
    # How strings print: one that fills max_strlen bytes (NUL included) was truncated
    # and gets the trailer. warnings: runtime warnings are shown (not --no-warnings).
    max_strlen: int = 1024
    str_trunc_trailer: str = ".."
    warnings: bool = True
    max_cat_bytes: int = 10240
    # getopt() names the program reads: (name, type word, default, description)
    named_params: tuple[tuple[str, str, str, str], ...] = ()
    # kernel variables the code refers to (percpu_kaddr): ELF symbol -> vmlinux BTF id;
    # the loader turns each ld_imm64 of one into a BPF_PSEUDO_BTF_ID load
    ksyms: tuple[tuple[str, int], ...] = ()
    # helpers the kernel may refuse, checked at start (runtime/features.check_feature)
    features: tuple[str, ...] = ()

    def setting(self, name: str, default: str | int) -> str | int:
        """A config variable's effective value (default: when compiled without it)."""
        for key, value in self.config:
            if key == name:
                return value
        return default

    @property
    def mode(self) -> str:
        """'test' or 'bench' when the program was compiled for that mode, else 'run'."""
        kinds = {p.kind for p in self.probes}
        return "test" if "test" in kinds else "bench" if "bench" in kinds else "run"

    def map(self, name: str) -> MapSpec:
        for m in self.maps:
            if m.name == name:
                return m
        raise KeyError(name)

    def event(self, event_id: int) -> EventSpec:
        return self.events[event_id]


@frozen
class BpfObject:
    """What the compiler produces: a relocatable BPF ELF plus its Resources."""

    elf: bytes
    resources: Resources
