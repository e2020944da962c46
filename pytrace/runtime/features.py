"""Cheap, cached feature probes: privileges and per-probe-kind kernel support.

Each check raises a RuntimeFailure subclass whose message is one line saying what is
missing and why; nothing here crashes or prints.
"""

from __future__ import annotations

import errno
import os
import struct
from collections.abc import Callable
from functools import cache, lru_cache

from pytrace.runtime import syscalls as sc
from pytrace.runtime.errors import FeatureUnavailable, PrivilegeError
from pytrace.runtime.tracefs import tracefs_root

EVENT_SOURCES = "/sys/bus/event_source/devices"
CAP_SYS_ADMIN = 21
CAP_PERFMON = 38
CAP_BPF = 39
_EXIT_INSNS = struct.pack("<BBhi", 0xB7, 0, 0, 0) + struct.pack("<BBhi", 0x95, 0, 0, 0)
BPF_TRACE_FENTRY = 24


def _effective_caps() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return 0


@lru_cache(maxsize=1)
def check_privileges() -> None:
    """Raise PrivilegeError unless we may load BPF and open perf events; ensure tracefs."""
    caps = _effective_caps()
    has_admin = bool(caps >> CAP_SYS_ADMIN & 1)
    missing = [name for bit, name in ((CAP_BPF, "CAP_BPF"), (CAP_PERFMON, "CAP_PERFMON"))
               if not (caps >> bit & 1) and not has_admin]
    if missing:  # bpftrace's words, and what would be enough
        raise PrivilegeError("pytrace currently only supports running as the root user "
                             f"(or with CAP_BPF and CAP_PERFMON; missing {' and '.join(missing)})")
    tracefs_root()


def pmu_type(name: str) -> int | None:
    """The perf PMU type number of /sys/bus/event_source/devices/NAME, or None."""
    try:
        with open(os.path.join(EVENT_SOURCES, name, "type")) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def pmu_format_bit(pmu: str, field: str) -> int:
    """The config bit of a PMU format field such as uprobe/format/retprobe ('config:0')."""
    try:
        with open(os.path.join(EVENT_SOURCES, pmu, "format", field)) as f:
            spec = f.read().strip()
        return int(spec.split(":", 1)[1].split("-", 1)[0])
    except (OSError, ValueError, IndexError):
        return 0


def _kprobes(kind: str) -> None:
    if pmu_type("kprobe") is not None:
        return
    if os.path.exists(os.path.join(tracefs_root(), "kprobe_events")):
        return
    raise FeatureUnavailable(f"{kind} probes are not available on this kernel: built without "
                             "CONFIG_KPROBES (no kprobe PMU and no kprobe_events)")


def _uprobes(kind: str) -> None:
    if pmu_type("uprobe") is None:
        raise FeatureUnavailable(f"{kind} probes are not available on this kernel: no uprobe "
                                 "PMU (built without CONFIG_UPROBE_EVENTS)")


ENOTSUPP = 524  # the kernel's internal "not supported" (no trampoline on this arch)
TRAMPOLINE_ERRNOS = frozenset({ENOTSUPP, errno.EOPNOTSUPP})
FENTRY_PROBE_FUNC = "bpf_fentry_test1"  # a kernel function that exists for such tests


def trampoline_refusal(kind: str, what: str, err: int,
                       no_log: bool = False) -> FeatureUnavailable:
    """The one line saying that the kernel cannot run fentry/fexit programs (`no_log`:
    a load refused without a verifier log, i.e. by a security policy)."""
    why = {errno.EPERM: "EPERM" + (" with no verifier log, a security policy" if no_log
                                   else ""),
           ENOTSUPP: "ENOTSUPP, not built for this architecture or configuration",
           errno.EOPNOTSUPP: "EOPNOTSUPP"}.get(err, errno.errorcode.get(err, str(err)))
    return FeatureUnavailable(f"{kind} probes are not available on this kernel: it does not "
                              f"allow BPF trampolines for fentry/fexit ({what}: {why})")


def _tracing_load(kind: str, btf_id: int) -> int:
    """A BPF_PROG_TYPE_TRACING program returning 0, attached to FUNC `btf_id`."""
    insns, lic = sc.Buffer(_EXIT_INSNS), sc.cstr("GPL")
    attr = sc.new_attr()
    struct.pack_into("<IIQQ", attr, 0, 26, 2, insns.addr, lic.addr)
    attach = BPF_TRACE_FENTRY if kind == "fentry" else BPF_TRACE_FENTRY + 1
    struct.pack_into("<I", attr, 68, attach)
    struct.pack_into("<I", attr, 108, btf_id)
    fd, err = sc.bpf_errno(sc.PROG_LOAD, attr)
    if fd < 0:
        raise trampoline_refusal(kind, "loading a TRACING program", err, no_log=True)
    return fd


def _fentry(kind: str) -> None:
    """Load and attach a do-nothing fentry/fexit program to the kernel's own test
    function (only BPF_PROG_TEST_RUN calls it), then detach: both steps need the
    trampoline."""
    from pytrace.btf import ids, running_btf

    if running_btf() is None:
        raise FeatureUnavailable(f"{kind} probes are not available on this kernel: no "
                                 "kernel BTF (/sys/kernel/btf/vmlinux is missing)")
    ref = ids.function(FENTRY_PROBE_FUNC, "vmlinux")
    if ref is None:
        return  # nothing safe to try: the real load and attach say what fails
    fd = _tracing_load(kind, ref.id)
    try:
        attr = sc.new_attr()
        struct.pack_into("<QI", attr, 0, 0, fd)
        link, err = sc.bpf_errno(sc.RAW_TRACEPOINT_OPEN, attr)
        if link < 0:
            raise trampoline_refusal(kind, "attaching a TRACING program", err)
        sc.close_fd(link)
    finally:
        sc.close_fd(fd)


def _iter(kind: str) -> None:
    """Load (and close) an empty iterator program on bpf_iter_task."""
    from pytrace.runtime.iterators import BPF_TRACE_ITER, btf_id

    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        raise FeatureUnavailable(f"{kind} probes are not available on this kernel: no "
                                 "kernel BTF (/sys/kernel/btf/vmlinux is missing)")
    insns, lic = sc.Buffer(_EXIT_INSNS), sc.cstr("GPL")
    attr = sc.new_attr()
    struct.pack_into("<IIQQ", attr, 0, 26, 2, insns.addr, lic.addr)
    struct.pack_into("<I", attr, 68, BPF_TRACE_ITER)
    struct.pack_into("<I", attr, 108, btf_id("task"))
    fd, err = sc.bpf_errno(sc.PROG_LOAD, attr)
    if fd >= 0:
        sc.close_fd(fd)
        return
    why = ("refused (EPERM, a security policy)" if err == errno.EPERM
           else f"refused ({errno.errorcode.get(err, str(err))})")
    raise FeatureUnavailable(f"{kind} probes are not available on this kernel: loading "
                             f"iterator programs (TRACING, BPF_TRACE_ITER) is {why}")


def _hardware(kind: str) -> None:
    attr = sc.perf_attr(0, 0, period=1_000_000)  # PERF_COUNT_HW_CPU_CYCLES
    struct.pack_into("<Q", attr, 40, 1)  # disabled
    try:
        fd = sc.perf_event_open(attr, 0, -1)
    except OSError as exc:
        why = ("no hardware PMU (perf_event_open: ENOENT)" if exc.errno == errno.ENOENT
               else f"perf_event_open failed: {os.strerror(exc.errno or 0)}")
        raise FeatureUnavailable(f"{kind} probes are not available on this machine: {why}")\
            from None
    sc.close_fd(fd)


def _watchpoint(kind: str) -> None:
    """A disabled write breakpoint on one of our own words (PERF_TYPE_BREAKPOINT = 5)."""
    word = sc.Buffer(bytes(8))
    attr = sc.perf_attr(5, 0, period=1, config1=word.addr, config2=8)
    struct.pack_into("<QI", attr, 40, 1, 0)  # disabled
    struct.pack_into("<I", attr, 52, 2)  # bp_type HW_BREAKPOINT_W
    try:
        fd = sc.perf_event_open(attr, os.getpid(), -1)
    except OSError as exc:
        why = {errno.ENOENT: "no breakpoint PMU (built without CONFIG_HAVE_HW_BREAKPOINT)",
               errno.EOPNOTSUPP: "the hypervisor or CPU offers no debug registers",
               errno.ENOSPC: "every hardware debug register is in use"}.get(
                   exc.errno or 0, f"perf_event_open failed: {os.strerror(exc.errno or 0)}")
        raise FeatureUnavailable(f"{kind} probes are not available on this machine: "
                                 f"hardware breakpoints are refused ({why})") from None
    sc.close_fd(fd)


def _tracepoints(kind: str) -> None:
    tracefs_root()


def _nothing(kind: str) -> None:
    return None


_CHECKS: dict[str, Callable[[str], None]] = {
    "kprobe": _kprobes, "kretprobe": _kprobes,
    "uprobe": _uprobes, "uretprobe": _uprobes, "usdt": _uprobes,
    "fentry": _fentry, "fexit": _fentry,
    "hardware": _hardware, "watchpoint": _watchpoint, "iter": _iter,
    "tracepoint": _tracepoints,
}


@cache
def _check_cached(kind: str) -> FeatureUnavailable | None:
    try:
        _CHECKS.get(kind, _nothing)(kind)
    except FeatureUnavailable as exc:
        return exc
    return None


# a tracepoint program calling bpf_probe_write_user(0, fp-8, 1): loads only where the
# kernel allows writing to user memory (no lockdown)
_WRITE_USER_INSNS = b"".join((
    struct.pack("<BBhi", 0x7A, 0x0A, -8, 0),  # *(u64 *)(r10 - 8) = 0
    struct.pack("<BBhi", 0xB7, 0x01, 0, 0),  # r1 = 0
    struct.pack("<BBhi", 0xBF, 0xA2, 0, 0),  # r2 = r10
    struct.pack("<BBhi", 0x07, 0x02, 0, -8),  # r2 += -8
    struct.pack("<BBhi", 0xB7, 0x03, 0, 1),  # r3 = 1
    struct.pack("<BBhi", 0x85, 0x00, 0, 36),  # call bpf_probe_write_user
    _EXIT_INSNS,
))
FEATURE_MESSAGES = {
    "probe_write_user": "write_user() is not available on this kernel: it refuses "
                        "bpf_probe_write_user (kernel lockdown or configuration)",
}


@cache
def _helper_loads(name: str) -> bool:
    insns = {"probe_write_user": _WRITE_USER_INSNS}[name]
    code, lic = sc.Buffer(insns), sc.cstr("GPL")
    attr = sc.new_attr()
    struct.pack_into("<IIQQ", attr, 0, 5, len(insns) // 8, code.addr, lic.addr)  # TRACEPOINT
    fd, _err = sc.bpf_errno(sc.PROG_LOAD, attr)
    if fd >= 0:
        sc.close_fd(fd)
        return True
    return False


def check_feature(name: str) -> None:
    """Raise FeatureUnavailable (one line) when the kernel refuses a helper a program
    uses (Resources.features)."""
    if name in FEATURE_MESSAGES and not _helper_loads(name):
        raise FeatureUnavailable(FEATURE_MESSAGES[name])


def check_kernel_variables(ksyms: tuple[tuple[str, int], ...]) -> None:
    """percpu_kaddr(): the verifier finds a variable's address through kallsyms, which
    lists data symbols only on kernels built with CONFIG_KALLSYMS_ALL."""
    from pytrace.kernelinfo import kernel_symbol

    for symbol, _btf_id in ksyms:
        name = symbol.removeprefix("ksym_")
        if kernel_symbol(name) is None:
            raise FeatureUnavailable(
                f"percpu_kaddr(\"{name}\") is not available on this kernel: /proc/kallsyms "
                "lists no data symbols (built without CONFIG_KALLSYMS_ALL)")


def check_probe_kind(kind: str) -> None:
    """Raise FeatureUnavailable (one line) when this kernel cannot run probes of `kind`."""
    failure = _check_cached(kind)
    if failure is not None:
        raise FeatureUnavailable(failure.message)
