"""Attach loaded programs to their probe points; an Attachment's close() detaches.

Tracepoints, uprobes and kprobes use one perf event (cpu 0 covers every CPU for trace
events) plus PERF_EVENT_IOC_SET_BPF; profile and software events open one event per
CPU; watchpoints open a PERF_TYPE_BREAKPOINT event on every thread of the target process,
inherited by the threads it creates later (or one per CPU); iterators get a
BPF_TRACE_ITER link (runtime/iterators.py runs them); raw tracepoints and fentry/fexit
use BPF_RAW_TRACEPOINT_OPEN (fentry/fexit on a running BPF program: BPF_LINK_CREATE).
BEGIN/END are not attached: run them with run_test().
"""

from __future__ import annotations

import errno
import os
import resource
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pytrace.resources import ProbeSpec
from pytrace.runtime import kmulti, umulti
from pytrace.runtime import syscalls as sc
from pytrace.runtime.errors import FeatureUnavailable, PrivilegeError, RuntimeFailure
from pytrace.runtime.features import (
    TRAMPOLINE_ERRNOS,
    check_probe_kind,
    pmu_format_bit,
    pmu_type,
    trampoline_refusal,
)
from pytrace.runtime.loader import LoadedProgram
from pytrace.runtime.tracefs import tracepoint_id
from pytrace.runtime.usdtsem import kernel_refcount, shared_refs

PERF_TYPE_HARDWARE = 0
PERF_TYPE_SOFTWARE = 1
PERF_TYPE_TRACEPOINT = 2
PERF_TYPE_BREAKPOINT = 5
BP_TYPE_OFFSET = 52  # perf_event_attr.bp_type; bp_addr/bp_len share config1/config2
PERF_SAMPLE_RAW = 1 << 10

SOFTWARE_EVENTS: dict[str, tuple[int, int]] = {  # name -> (config, default period)
    "cpu-clock": (0, 1_000_000), "cpu": (0, 1_000_000), "task-clock": (1, 1_000_000),
    "page-faults": (2, 100), "faults": (2, 100), "context-switches": (3, 1000),
    "cs": (3, 1000), "cpu-migrations": (4, 1), "minor-faults": (5, 100),
    "major-faults": (6, 1), "alignment-faults": (7, 1), "emulation-faults": (8, 1),
    "dummy": (9, 1), "bpf-output": (10, 1),
}
HARDWARE_EVENTS: dict[str, tuple[int, int]] = {
    "cpu-cycles": (0, 1_000_000), "cycles": (0, 1_000_000), "instructions": (1, 1_000_000),
    "cache-references": (2, 1_000_000), "cache-misses": (3, 1_000_000),
    "branch-instructions": (4, 100_000), "branches": (4, 100_000),
    "branch-misses": (5, 100_000), "bus-cycles": (6, 100_000),
    "frontend-stalls": (7, 1_000_000), "backend-stalls": (8, 1_000_000),
    "ref-cycles": (9, 1_000_000),
}


@dataclass(slots=True)
class Attachment:
    """The fds that keep one probe attached; close() detaches.

    links: BPF links binding the program to perf events. Closing a link stops the
    program at once; closing the perf event itself costs an RCU grace period (slow),
    so `stop()` closes only the links and `close()` finishes the job.
    """

    spec: ProbeSpec
    fds: list[int] = field(default_factory=list)
    links: list[int] = field(default_factory=list)

    def stop(self) -> None:
        for fd in self.links:
            sc.close_fd(fd)
        self.links = []

    def close(self) -> None:
        self.stop()
        for fd in self.fds:
            sc.close_fd(fd)
        self.fds = []


def online_cpus() -> list[int]:
    """CPU numbers from /sys/devices/system/cpu/online."""
    try:
        with open("/sys/devices/system/cpu/online") as f:
            text = f.read().strip()
    except OSError:
        return list(range(os.cpu_count() or 1))
    cpus: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        cpus.extend(range(int(lo), int(hi or lo) + 1))
    return cpus


def _fail(spec: ProbeSpec, exc: OSError, what: str = "perf_event_open") -> RuntimeFailure:
    err = exc.errno or 0
    reason = f"{what}: {os.strerror(err)}"
    if err in (errno.EACCES, errno.EPERM):
        return PrivilegeError(f"cannot attach {spec.name}: {reason} (needs root or "
                              "CAP_PERFMON)")
    if err == errno.EMFILE:
        return RuntimeFailure(f"cannot attach {spec.name}: too many open files")
    if err in (errno.ENOENT, errno.ENODEV, errno.EOPNOTSUPP):
        return FeatureUnavailable(f"cannot attach {spec.name}: {reason}")
    return RuntimeFailure(f"cannot attach {spec.name}: {reason}")


def _perf_link(prog_fd: int, perf_fd: int) -> int | None:
    """A BPF link from the program to a perf event (None where the kernel has none)."""
    attr = sc.new_attr()
    struct.pack_into("<III", attr, 0, prog_fd, perf_fd, sc.BPF_PERF_EVENT)
    try:
        return sc.bpf(sc.LINK_CREATE, attr, "BPF_LINK_CREATE")
    except OSError:
        return None


def close_many(fds: list[int]) -> None:
    """Close fds; many at once from threads. Closing a BPF link waits for an RCU grace
    period (~16 ms here), and those waits overlap when the closes run in parallel
    (100 links: 3.2 s one by one, 0.15 s from 32 threads)."""
    if len(fds) <= 4:
        for fd in fds:
            sc.close_fd(fd)
        return
    from concurrent.futures import ThreadPoolExecutor  # lazy: costs ~4 ms to import

    with ThreadPoolExecutor(max_workers=min(32, len(fds))) as pool:
        list(pool.map(sc.close_fd, fds))


def stop_all(attachments: Iterable[Attachment]) -> None:
    """Stop every program at once (close the links, in parallel); the perf events stay open."""
    attachments = list(attachments)
    links = [fd for a in attachments for fd in a.links]
    for a in attachments:
        a.links = []
    close_many(links)


def release_in_background(attachments: Iterable[Attachment]) -> bool:
    """Hand the perf events to a short-lived process that releases them as it exits.

    Closing a tracepoint or uprobe perf event costs the kernel one RCU grace period
    under a global mutex (~35 ms each, serialised: threads do not help), so a process
    about to exit leaves that to a forked child. The child waits until this process has
    closed its own copies (so the child's are the last references) and then exits. True
    when handed over (the attachments' fds are closed here and emptied)."""
    attachments = list(attachments)
    fds = [fd for a in attachments for fd in a.fds]
    if not fds:
        return False
    try:
        r, w = os.pipe()
    except OSError:
        return False
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        return False
    if pid == 0:  # the releaser: never hold the caller's stdio open while the kernel works
        try:
            os.closerange(0, 3)
            os.close(w)
            os.read(r, 1)  # EOF once the parent has closed its copies (or has died)
        finally:
            os._exit(0)
    os.close(r)
    for a in attachments:
        for fd in a.fds:
            os.close(fd)  # not the last reference: fast
        a.fds = []
    os.close(w)
    return True


def _perf_with_prog(spec: ProbeSpec, prog_fd: int, attr: bytearray, pid: int,
                    cpus: Iterable[int]) -> Attachment:
    """Open one perf event per CPU, attach the program and enable each."""
    att = Attachment(spec)
    try:
        for cpu in cpus:
            fd = sc.perf_event_open(attr, pid, cpu)
            att.fds.append(fd)
            link = _perf_link(prog_fd, fd)
            if link is None:
                sc.ioctl(fd, sc.PERF_EVENT_IOC_SET_BPF, prog_fd)
            else:
                att.links.append(link)
            sc.ioctl(fd, sc.PERF_EVENT_IOC_ENABLE, 0)
    except OSError as exc:
        att.close()
        raise _fail(spec, exc) from None
    return att


def _tracepoint(spec: ProbeSpec, prog_fd: int) -> Attachment:
    tp = tracepoint_id(str(spec.attach["category"]), str(spec.attach["event"]))
    attr = sc.perf_attr(PERF_TYPE_TRACEPOINT, tp, period=1, sample_type=PERF_SAMPLE_RAW)
    return _perf_with_prog(spec, prog_fd, attr, -1, (0,))


def _raw_tracepoint_open(spec: ProbeSpec, prog_fd: int, name: str | None) -> Attachment:
    buf = sc.cstr(name) if name is not None else None
    attr = sc.new_attr()
    struct.pack_into("<QI", attr, 0, buf.addr if buf else 0, prog_fd)
    try:
        return Attachment(spec, [sc.bpf(sc.RAW_TRACEPOINT_OPEN, attr, "BPF_RAW_TRACEPOINT_OPEN")])
    except OSError as exc:
        if exc.errno == errno.ENOENT and name is not None:
            raise FeatureUnavailable(f"raw tracepoint {name} does not exist") from None
        raise _fail(spec, exc, "BPF_RAW_TRACEPOINT_OPEN") from None


def _rawtracepoint(spec: ProbeSpec, prog_fd: int) -> Attachment:
    return _raw_tracepoint_open(spec, prog_fd, str(spec.attach["event"]))


def _tracing_link(spec: ProbeSpec, prog_fd: int) -> tuple[int, str, bytearray]:
    """(cmd, its name, attr) attaching a loaded fentry/fexit program, with its attr filled.
    A kernel function's program opens a raw tracepoint without a name; one on a running
    BPF program (fentry:bpf) gets a BPF_LINK_CREATE link of its attach type, target_fd
    0: the target program was given at load (attach_prog_fd), and the kernel takes a
    new target fd here only for freplace (EXT) programs."""
    attr = sc.new_attr()
    if "prog_id" in spec.attach:
        struct.pack_into("<III", attr, 0, prog_fd, 0, spec.expected_attach_type)
        return sc.LINK_CREATE, "BPF_LINK_CREATE", attr
    struct.pack_into("<QI", attr, 0, 0, prog_fd)
    return sc.RAW_TRACEPOINT_OPEN, "BPF_RAW_TRACEPOINT_OPEN", attr


def _fentry(spec: ProbeSpec, prog_fd: int) -> Attachment:
    """A loaded fentry/fexit program is attached through its BTF target (no name)."""
    check_probe_kind(spec.kind)
    cmd, what, attr = _tracing_link(spec, prog_fd)
    try:
        return Attachment(spec, [sc.bpf(cmd, attr, what)])
    except OSError as exc:
        err = exc.errno or 0
        if err in TRAMPOLINE_ERRNOS or err == errno.EPERM:
            raise trampoline_refusal(spec.kind, f"attaching {spec.name}", err) from None
        raise _fail(spec, exc, what) from None


def _interval(spec: ProbeSpec, prog_fd: int) -> Attachment:
    period = int(spec.attach.get("period_ns", 0))
    if not period:
        period = 1_000_000_000 // max(int(spec.attach.get("freq", 1)), 1)
    attr = sc.perf_attr(PERF_TYPE_SOFTWARE, 0, period=period)
    return _perf_with_prog(spec, prog_fd, attr, -1, (0,))


def _profile(spec: ProbeSpec, prog_fd: int) -> Attachment:
    freq = int(spec.attach.get("freq", 0))
    period = int(spec.attach.get("period_ns", 0))
    attr = sc.perf_attr(PERF_TYPE_SOFTWARE, 0, freq=freq, period=period or 1_000_000)
    return _perf_with_prog(spec, prog_fd, attr, -1, online_cpus())


def _event_config(spec: ProbeSpec, table: dict[str, tuple[int, int]]) -> tuple[int, int]:
    a = spec.attach
    if "config" in a:
        config = int(a["config"])
        default = next((p for c, p in table.values() if c == config), 1)
    else:
        name = str(a.get("event", ""))
        if name not in table:
            raise RuntimeFailure(f"cannot attach {spec.name}: unknown {spec.kind} event "
                                 f"'{name}'")
        config, default = table[name]
    return config, int(a.get("period", 0)) or default


def _software(spec: ProbeSpec, prog_fd: int) -> Attachment:
    config, period = _event_config(spec, SOFTWARE_EVENTS)
    attr = sc.perf_attr(PERF_TYPE_SOFTWARE, config, period=period)
    return _perf_with_prog(spec, prog_fd, attr, -1, online_cpus())


def _hardware(spec: ProbeSpec, prog_fd: int) -> Attachment:
    check_probe_kind("hardware")
    config, period = _event_config(spec, HARDWARE_EVENTS)
    attr = sc.perf_attr(PERF_TYPE_HARDWARE, config, period=period)
    return _perf_with_prog(spec, prog_fd, attr, -1, online_cpus())


def _probe_pmu(spec: ProbeSpec, prog_fd: int, pmu: str, target: str, offset: int,
               retprobe: bool, pid: int, config: int = 0) -> Attachment:
    ptype = pmu_type(pmu)
    if ptype is None:
        check_probe_kind(spec.kind)
        raise FeatureUnavailable(f"{spec.kind} probes are not available: no {pmu} PMU")
    if retprobe:
        config |= 1 << pmu_format_bit(pmu, "retprobe")
    name = sc.cstr(target)
    attr = sc.perf_attr(ptype, config, period=1, sample_type=PERF_SAMPLE_RAW,
                        config1=name.addr, config2=offset)
    return _perf_with_prog(spec, prog_fd, attr, pid, (0,) if pid == -1 else (-1,))


def _uprobe(spec: ProbeSpec, prog_fd: int,
            refs: dict[tuple[str, int], int] | None = None) -> Attachment:
    """refs: the semaphores of usdt probes on the same instructions (usdtsem.shared_refs)."""
    a = spec.attach
    path = str(a["path"])
    if not os.path.exists(path):
        raise RuntimeFailure(f"cannot attach {spec.name}: {path} does not exist")
    ref = int(a.get("ref_ctr_offset", 0)) or (refs or {}).get((path, int(a["offset"])), 0)
    ref = ref if kernel_refcount() else 0
    retprobe = bool(int(a.get("retprobe", 0))) or spec.kind == "uretprobe"
    if umulti.uses_link(spec):
        try:
            return Attachment(spec, links=[umulti.link(prog_fd, path, int(a["offset"]), ref,
                                                       retprobe)])
        except OSError as exc:
            raise _fail(spec, exc, "BPF_LINK_CREATE") from None
    return _probe_pmu(spec, prog_fd, "uprobe", path, int(a["offset"]), retprobe,
                      int(a.get("pid", -1)), ref << 32)


def _kprobe(spec: ProbeSpec, prog_fd: int) -> Attachment:
    check_probe_kind(spec.kind)
    a = spec.attach
    retprobe = bool(int(a.get("retprobe", 0))) or spec.kind == "kretprobe"
    names = kmulti.funcs(spec)
    if names:  # one program for many functions: one kprobe_multi link
        try:
            return Attachment(spec, links=[kmulti.link(prog_fd, names, retprobe)])
        except OSError as exc:
            raise _fail(spec, exc, "BPF_LINK_CREATE") from None
    return _probe_pmu(spec, prog_fd, "kprobe", str(a["func"]), int(a.get("offset", 0)),
                      retprobe, -1)


INHERIT = 1 << 1  # perf_event_attr.inherit: threads created later get the event too
INHERIT_THREAD = 1 << 35  # ... threads only, not forked processes (Linux 5.13)


def thread_ids(pid: int) -> list[int]:
    """Every thread of process `pid` now (just the pid when it cannot be listed)."""
    try:
        return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return [pid]


def _watch_attr(a: dict[str, str | int], flags: int) -> bytearray:
    attr = sc.perf_attr(PERF_TYPE_BREAKPOINT, 0, period=1, config1=int(a["address"]),
                        config2=int(a["length"]), flags=flags)
    struct.pack_into("<I", attr, BP_TYPE_OFFSET, int(a["bp_type"]))
    return attr


def _watch_threads(spec: ProbeSpec, prog_fd: int, pid: int) -> Attachment:
    """One breakpoint per thread of the process, inherited by the threads they create."""
    att = Attachment(spec)
    try:
        for flags in (INHERIT | INHERIT_THREAD, INHERIT):
            try:
                for tid in thread_ids(pid):
                    one = _perf_with_prog(spec, prog_fd, _watch_attr(spec.attach, flags), tid,
                                          (-1,))
                    att.fds.extend(one.fds)
                    att.links.extend(one.links)
                return att
            except FeatureUnavailable:
                raise
            except RuntimeFailure:
                if flags == INHERIT or att.fds:
                    raise
    except RuntimeFailure:
        att.close()
        raise
    return att


def _watchpoint(spec: ProbeSpec, prog_fd: int, target_pid: int | None = None) -> Attachment:
    """A hardware breakpoint: on every thread of the -p process or -c child (and the
    threads they start), else one per CPU for every process."""
    check_probe_kind("watchpoint")
    a = spec.attach
    pid = int(a["pid"]) if "pid" in a else (-1 if target_pid is None else target_pid)
    try:
        if pid == -1:
            return _perf_with_prog(spec, prog_fd, _watch_attr(a, 0), -1, online_cpus())
        return _watch_threads(spec, prog_fd, pid)
    except RuntimeFailure as exc:
        raise type(exc)(exc.message + _watch_hint(exc.message)) from None


def _watch_hint(message: str) -> str:
    if message.endswith(os.strerror(errno.EINVAL)):
        return (" (the CPU refused this watchpoint: the address must be aligned to the "
                "length; x86 has no read-only watchpoints (use rw) and execute ones need "
                "length 8)")
    if message.endswith(os.strerror(errno.ENOSPC)):
        return " (all hardware debug registers are in use: at most 4 watchpoints per CPU)"
    return ""


def _iter(spec: ProbeSpec, prog_fd: int) -> Attachment:
    """The iterator's link (kept in fds: it lives until the iterator has run)."""
    from pytrace.runtime.iterators import link

    check_probe_kind("iter")
    return Attachment(spec, [link(spec, prog_fd)])


def _none(spec: ProbeSpec, prog_fd: int) -> Attachment:
    return Attachment(spec)


_ATTACHERS: dict[str, Callable[[ProbeSpec, int], Attachment]] = {
    "tracepoint": _tracepoint, "rawtracepoint": _rawtracepoint,
    "interval": _interval, "profile": _profile, "software": _software,
    "hardware": _hardware, "uprobe": _uprobe, "uretprobe": _uprobe, "usdt": _uprobe,
    "kprobe": _kprobe, "kretprobe": _kprobe, "fentry": _fentry, "fexit": _fentry,
    "watchpoint": _watchpoint, "iter": _iter, "BEGIN": _none, "END": _none,
}


def attach(spec: ProbeSpec, prog_fd: int, target_pid: int | None = None,
           refs: dict[tuple[str, int], int] | None = None) -> Attachment:
    """Attach one program; BEGIN/END give an empty Attachment (use run_test).

    target_pid: the `-c` child, which watchpoints without `-p` are bound to (as bpftrace).
    refs: usdt semaphores by probed instruction, for uprobes sharing one.
    """
    if spec.kind == "watchpoint":
        return _watchpoint(spec, prog_fd, target_pid)
    if spec.kind in ("uprobe", "uretprobe"):
        return _uprobe(spec, prog_fd, refs)
    fn = _ATTACHERS.get(spec.kind)
    if fn is None:
        raise FeatureUnavailable(f"{spec.kind} probes are not supported by pytrace")
    return fn(spec, prog_fd)


def raise_fd_limit() -> None:
    """Raise the soft RLIMIT_NOFILE to the hard limit (many probes need many fds)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# The kernel runs the programs of one uprobe site newest first: these kinds are attached
# last-written first, so that blocks on the same function run in program order (as in
# bpftrace: `uprobe:f {1} uprobe:f {2}` prints 1 then 2, and so do two uretprobes).
REVERSE_ATTACH = frozenset({"uprobe", "uretprobe", "usdt"})


def attach_order(programs: Iterable[LoadedProgram]) -> list[LoadedProgram]:
    """The order to attach programs in so that each site runs them in program order."""
    progs = list(programs)
    return [p for p in reversed(progs) if p.spec.kind in REVERSE_ATTACH] + \
        [p for p in progs if p.spec.kind not in REVERSE_ATTACH]


AttachFailure = Callable[[ProbeSpec, RuntimeFailure], None]


def attach_all(programs: Iterable[LoadedProgram], target_pid: int | None = None,
               on_failure: AttachFailure | None = None) -> list[Attachment]:
    """Attach every program (all or nothing: on failure the others are detached).

    target_pid: the `-c` child's pid (watchpoints are bound to it).
    on_failure: the `missing_probes` warn/ignore policy: a probe that cannot be attached
      (missing, or refused by the kernel) is reported to it and skipped instead.
    """
    progs = attach_order(programs)
    if len(progs) > 200:
        raise_fd_limit()
    refs = shared_refs(p.spec for p in progs)
    done: list[Attachment] = []
    try:
        for p in progs:
            try:
                done.append(attach(p.spec, p.fd, target_pid, refs))
            except PrivilegeError:
                raise
            except RuntimeFailure as exc:
                if on_failure is None:
                    raise
                on_failure(p.spec, exc)
    except BaseException:
        for a in done:
            a.close()
        raise
    return done


def detach_all(attachments: Iterable[Attachment], wait: bool = True) -> threading.Thread | None:
    """Detach many probes at once.

    Closing a tracepoint or uprobe perf event costs an RCU grace period in the kernel
    (~40 ms each, serialised), so many probes are closed from several threads; with
    wait=False this returns at once and the returned thread finishes the job.
    """
    attachments = list(attachments)
    stop_all(attachments)
    fds = [fd for a in attachments for fd in a.fds]
    for a in attachments:
        a.fds = []
    if len(fds) <= 4 and wait:
        for fd in fds:
            sc.close_fd(fd)
        return None
    worker = threading.Thread(target=close_many, args=(fds,), name="pytrace-detach", daemon=True)
    worker.start()
    if wait:
        worker.join()
        return None
    return worker


def run_test(prog_fd: int, ctx: bytes = b"") -> int:
    """BPF_PROG_TEST_RUN a (raw tracepoint) program once in this process; its retval."""
    buf = sc.Buffer(ctx) if ctx else None
    attr = sc.new_attr()
    struct.pack_into("<I", attr, 0, prog_fd)
    if buf is not None:
        struct.pack_into("<IIQ", attr, 40, len(ctx), 0, buf.addr)
    try:
        sc.bpf(sc.PROG_TEST_RUN, attr, "BPF_PROG_TEST_RUN")
    except OSError as exc:
        raise RuntimeFailure(f"cannot run the BEGIN/END program: {exc.strerror}") from None
    return int(struct.unpack_from("<I", attr, 4)[0])


XDP_PACKET = bytes(64)  # an XDP test run needs a packet of at least an Ethernet header


def run_repeated(prog_fd: int, repeat: int) -> int:
    """BPF_PROG_TEST_RUN an XDP program `repeat` times in the kernel; the average
    nanoseconds of one run, as the kernel measured it."""
    data = sc.Buffer(XDP_PACKET)
    attr = sc.new_attr()
    struct.pack_into("<IIIIQQII", attr, 0, prog_fd, 0, len(XDP_PACKET), 0, data.addr, 0,
                     repeat, 0)
    try:
        sc.bpf(sc.PROG_TEST_RUN, attr, "BPF_PROG_TEST_RUN")
    except OSError as exc:
        raise RuntimeFailure(f"cannot run the benchmark: {exc.strerror}") from None
    return int(struct.unpack_from("<I", attr, 36)[0])
