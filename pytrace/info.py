"""`pytrace --info`: the system, this build and what the kernel supports, in bpftrace's
layout (sections of `name: value` pairs, two to a line, 35 columns each)."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable

from pytrace import __version__

WIDTH = 35


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def tabulate(pairs: list[tuple[str, str]]) -> str:
    """Two `name: value` cells a line, each padded to 35 columns (as bpftrace does)."""
    cells = [f"{name}: {value}" for name, value in pairs]
    lines = []
    for i in range(0, len(cells), 2):
        first = ("  " + cells[i]).ljust(WIDTH)
        second = cells[i + 1].ljust(WIDTH) if i + 1 < len(cells) else ""
        lines.append(first + second)
    return "".join(line + "\n" for line in lines)


def _system() -> str:
    u = os.uname()
    return f"System\n  OS: {u.sysname} {u.release} {u.version}\n  Arch: {u.machine}\n"


def _dist_version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _llvm() -> str:
    try:
        import llvmlite
        import llvmlite.binding as llvm

        major, minor, patch = llvm.llvm_version_info
    except Exception:  # noqa: BLE001 - a broken llvmlite is reported, not fatal
        return "not available"
    return f"{major}.{minor}.{patch} (llvmlite {llvmlite.__version__})"


def _build() -> str:
    return ("Build\n"
            f"  version: pytrace v{__version__}\n"
            f"  Python: {platform.python_version()}\n"
            f"  LLVM: {_llvm()}\n"
            f"  pyelftools (ELF and DWARF reading): {_dist_version('pyelftools')}\n"
            f"  BTF reader: {_yes(_has_btf_reader())}\n"
            "  libbpf, clang, BCC: not used (bpf(2) through ctypes)\n")


def _has_btf_reader() -> bool:
    from pytrace.listing.btfinfo import have_reader

    return have_reader()


def _kind(kind: str) -> Callable[[], bool]:
    def check() -> bool:
        from pytrace.runtime.features import _check_cached

        return _check_cached(kind) is None
    return check


def _iter_task() -> bool:
    from pytrace.listing.btfinfo import iter_func_id, iterators
    from pytrace.runtime.bpffeatures import iter_loadable

    btf_id = iter_func_id("task")
    if btf_id is not None:
        return iter_loadable(btf_id)
    return "task" in iterators()


def _sections() -> list[tuple[str, list[tuple[str, Callable[[], object]]]]]:
    from pytrace.runtime import bpffeatures as bf

    return [
        ("Kernel helpers", [
            ("dpath", _kind("fentry")),  # d_path is only callable from fentry programs
            ("get_tai_ns", lambda: bf.has_helper(bf.HELPER_KTIME_GET_TAI_NS)),
            ("get_func_ip", lambda: bf.has_helper(bf.HELPER_GET_FUNC_IP)),
            ("lookup_percpu_elem", lambda: bf.has_helper(bf.HELPER_LOOKUP_PERCPU_ELEM)),
        ]),
        ("Kernel features", [
            ("Instruction limit", bf.instruction_limit),
            ("btf", lambda: os.path.exists("/sys/kernel/btf/vmlinux")),
            ("module btf", _module_btf),
            ("map batch", bf.has_map_batch),
            ("Loop support", bf.has_loops),
            ("ringbuf", bf.has_ringbuf),
        ]),
        ("Probe types", [
            ("kprobe", _kind("kprobe")), ("uprobe", _kind("uprobe")),
            ("tracepoint", _kind("tracepoint")), ("fentry", _kind("fentry")),
            ("hardware", _kind("hardware")), ("watchpoint", _kind("watchpoint")),
            ("kprobe_multi", bf.has_kprobe_multi), ("uprobe_multi", bf.has_uprobe_multi),
            ("kprobe_session", bf.has_kprobe_session), ("iter", _iter_task),
        ]),
    ]


def _module_btf() -> bool:
    try:
        return any(n != "vmlinux" for n in os.listdir("/sys/kernel/btf"))
    except OSError:
        return False


def _value(check: Callable[[], object]) -> str:
    try:
        result = check()
    except Exception:  # noqa: BLE001 - a probe that cannot run means "no"
        return "no"
    return _yes(result) if isinstance(result, bool) else str(result)


def report() -> str:
    """The whole `--info` text (needs the privileges to load BPF programs)."""
    parts = [_system(), _build()]
    for title, checks in _sections():
        parts.append(title + "\n" + tabulate([(n, _value(c)) for n, c in checks]))
    return "\n".join(parts) + "\n"
