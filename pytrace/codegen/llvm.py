"""llvmlite setup and object emission: IR text in, BPF ELF bytes out.

llvmlite.binding is imported lazily (it costs ~130 ms) so that a cached object
never pays for it.

LLVM reports some failures by printing `LLVM ERROR: ...` and aborting the process
(jumps out of range, stack limit, bad IR reaching the backend): no exception, the
whole process dies. Every call into LLVM that can do so (parse, verify, optimise,
emit) therefore runs in a child forked from this process once llvmlite is loaded and
the target machine built (the fork is cheap, ~1-2 ms: the child shares every page).
The result comes back through a memfd. A child that dies becomes `LLVMFailure` with
LLVM's own message and, found by compiling subsets of the probe functions, the
function that makes it fail.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Callable
from functools import lru_cache
from typing import Any

TRIPLE = "bpfel"
DATA_LAYOUT = "e-m:e-p:64:64-i64:64-i128:128-n32:64-S128"
PROBE_PREFIX = "prog_"  # codegen names probe function N `prog_N`
_OK, _RAISED = b"\0", b"\1"


class LLVMFailure(Exception):
    """LLVM aborted (or crashed) compiling the module.

    message: LLVM's own words (or the signal that killed it); function: the probe
    function that fails on its own (None when no single one does)."""

    def __init__(self, message: str, function: str | None = None) -> None:
        super().__init__(message if function is None else f"{function}: {message}")
        self.message = message
        self.function = function

    @property
    def probe_index(self) -> int | None:
        """N of `prog_N`, the index of the ProbeSpec it implements."""
        if self.function is None or not self.function.startswith(PROBE_PREFIX):
            return None
        tail = self.function[len(PROBE_PREFIX):]
        return int(tail) if tail.isdigit() else None


def cpu_version(release: str | None = None) -> str:
    """The BPF ISA to compile for: v4 (32-bit jumps, signed division, sign-extending
    loads) on kernels from 6.6, which have it, else v3. Without v4, a branch over more
    than 32767 instructions makes LLVM abort."""

    text = release if release is not None else os.uname().release
    try:
        major, minor = (int(x) for x in text.split("-")[0].split(".")[:2])
    except ValueError:
        return "v3"
    return "v4" if (major, minor) >= (6, 6) else "v3"


@lru_cache(maxsize=1)
def _target_machine() -> Any:
    import llvmlite.binding as llvm

    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    # Schedule for register pressure (bottom-up): the default SelectionDAG scheduler
    # takes time quadratic in a block's length (8,000 statements: 32 s; list-burr:
    # 2.7 s), and scheduling in IR order (`source`) keeps every value computed before a
    # helper call alive across it: 70 variables each set from a helper and summed
    # afterwards were 70 spill slots (LLVM: "stack limit exceeded"), list-burr computes
    # each addition as soon as its operands exist (16 bytes of stack), as bpftrace's
    # LLVM does.
    llvm.set_option("pytrace", "-pre-RA-sched=list-burr")
    # No jump tables: v4 would lower large switches (the syscall dispatcher) to `gotox`
    # through a table, which needs kernel support this loader does not assume.
    llvm.set_option("pytrace", "-bpf-min-jump-table-entries=2147483647")
    target = llvm.Target.from_triple(TRIPLE)
    return target.create_target_machine(cpu=cpu_version(), opt=2, reloc="static")


def _optimized_module(ir_text: str) -> Any:
    import llvmlite.binding as llvm

    tm = _target_machine()
    mod = llvm.parse_assembly(ir_text)
    mod.triple = TRIPLE
    mod.data_layout = str(tm.target_data)
    mod.verify()
    pto = llvm.create_pipeline_tuning_options(speed_level=2)
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)
    return mod


# ------------------------------------------------------------------ isolation
def _read_fd(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _write_fd(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _child(work: Callable[[], bytes], out: int, err: int) -> None:
    """In the forked child: run work, write the tagged result, exit without cleanup."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        handler = sys.modules.get("faulthandler")
        if handler is not None:  # its dump of an abort would go to the parent's stderr
            handler.disable()
        os.dup2(err, 2)  # LLVM's `LLVM ERROR:` line lands where the parent reads it
        try:
            result = _OK + work()
        except BaseException as exc:  # noqa: BLE001  (reported to the parent)
            text = str(exc) if isinstance(exc, RuntimeError) else f"{type(exc).__name__}: {exc}"
            result = _RAISED + text.encode("utf-8", "replace")
        _write_fd(out, result)
    finally:
        os._exit(0)


def _wait(pid: int) -> int:
    try:
        return os.waitpid(pid, 0)[1]
    except BaseException:  # Ctrl-C while LLVM works: the child must not outlive us
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        raise


_ERROR_PREFIX = re.compile(r"^(?:.*?error: )?(?:<unknown>:\d+:\d+: )?(?:in function \S+ [^:]*: )?")


def _first_sentence(text: str) -> str:
    end = text.find(". ")
    return text[:end] if end > 0 else text.rstrip(".")


def _llvm_message(log: bytes, status: int) -> str:
    text = log.decode("utf-8", "replace")
    for line in text.splitlines():
        if "LLVM ERROR:" in line:
            return line.split("LLVM ERROR:", 1)[1].strip()
    for line in text.splitlines():
        if line.startswith("error:") or ": error:" in line:
            return _first_sentence(_ERROR_PREFIX.sub("", line.strip()))
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return f"LLVM crashed ({name})"
    return f"LLVM exited with status {os.waitstatus_to_exitcode(status)}"


def isolated(work: Callable[[], bytes]) -> bytes:
    """work() run in a forked child; LLVMFailure when the child dies, RuntimeError when
    work raised (llvmlite's own errors, e.g. invalid IR)."""
    _target_machine()  # built once here, inherited by every child
    out = os.memfd_create("pytrace-llvm-out", os.MFD_CLOEXEC)
    err = os.memfd_create("pytrace-llvm-err", os.MFD_CLOEXEC)
    try:
        pid = os.fork()
        if pid == 0:
            _child(work, out, err)
        status = _wait(pid)
        data, log = _read_fd(out), _read_fd(err)
    finally:
        os.close(out)
        os.close(err)
    if data[:1] == _OK:
        return data[1:]
    if data[:1] == _RAISED:
        raise RuntimeError(data[1:].decode("utf-8", "replace"))
    raise LLVMFailure(_llvm_message(log, status))


# ------------------------------------------------------------------ finding the culprit
def probe_functions(ir_text: str) -> list[str]:
    """Names of the probe functions defined in the module, in order."""
    out = []
    for line in ir_text.splitlines():
        if line.startswith("define "):
            name = _defined_name(line)
            if name is not None and name.startswith(PROBE_PREFIX):
                out.append(name)
    return out


def _defined_name(line: str) -> str | None:
    at = line.find("@")
    if at < 0:
        return None
    rest = line[at + 1:]
    if rest.startswith('"'):
        end = rest.find('"', 1)
        return rest[1:end] if end > 0 else None
    end = rest.find("(")
    return rest[:end] if end > 0 else None


def keep_functions(ir_text: str, keep: set[str]) -> str:
    """The module without the probe functions not in `keep` (probe functions are entry
    points: nothing calls them, so the rest of the module stays valid)."""
    out: list[str] = []
    skipping = False
    for line in ir_text.splitlines(keepends=True):
        if skipping:
            skipping = line.rstrip("\n") != "}"
            continue
        if line.startswith("define "):
            name = _defined_name(line)
            if name is not None and name.startswith(PROBE_PREFIX) and name not in keep:
                skipping = not line.rstrip().endswith("}")
                continue
        out.append(line)
    return "".join(out)


def _fails(ir_text: str, names: list[str], work: Callable[[str], bytes]) -> bool:
    try:
        isolated(lambda: work(keep_functions(ir_text, set(names))))
    except LLVMFailure:
        return True
    except RuntimeError:
        return False
    return False


def find_culprit(ir_text: str, work: Callable[[str], bytes]) -> str | None:
    """A probe function that makes `work` die on its own (bisection), or None."""
    names = probe_functions(ir_text)
    if len(names) <= 1:
        return names[0] if names else None  # the only probe: no need to compile it again
    while len(names) > 1:
        half = names[: len(names) // 2]
        if _fails(ir_text, half, work):
            names = half
        elif _fails(ir_text, names[len(half):], work):
            names = names[len(half):]
        else:
            return None  # only a combination fails
    return names[0] if _fails(ir_text, names, work) else None


def _run(ir_text: str, work: Callable[[str], bytes]) -> bytes:
    try:
        return isolated(lambda: work(ir_text))
    except LLVMFailure as exc:
        raise LLVMFailure(exc.message, find_culprit(ir_text, work)) from None


# ------------------------------------------------------------------ the stages
def _object_bytes(ir_text: str) -> bytes:
    return bytes(_target_machine().emit_object(_optimized_module(ir_text)))


def _optimized_text(ir_text: str) -> bytes:
    return str(_optimized_module(ir_text)).encode()


def _assembly_text(ir_text: str) -> bytes:
    return str(_target_machine().emit_assembly(_optimized_module(ir_text))).encode()


def optimize(ir_text: str) -> str:
    """The IR after the O2 pipeline (for `-d ir-opt`)."""
    return _run(ir_text, _optimized_text).decode()


def emit_object(ir_text: str) -> bytes:
    """Compile IR text to a relocatable BPF ELF object."""
    return _run(ir_text, _object_bytes)


def emit_assembly(ir_text: str) -> str:
    return _run(ir_text, _assembly_text).decode()
