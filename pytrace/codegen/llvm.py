"""llvmlite setup and object emission: IR text in, BPF ELF bytes out.

llvmlite.binding is imported lazily (it costs ~130 ms) so that a cached object
never pays for it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

TRIPLE = "bpfel"
DATA_LAYOUT = "e-m:e-p:64:64-i64:64-i128:128-n32:64-S128"


def cpu_version(release: str | None = None) -> str:
    """The BPF ISA to compile for: v4 (32-bit jumps, signed division, sign-extending
    loads) on kernels from 6.6, which have it, else v3. Without v4, a branch over more
    than 32767 instructions makes LLVM abort."""
    import platform

    text = release if release is not None else platform.release()
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
    # Schedule instructions in IR order: the default SelectionDAG scheduler takes time
    # quadratic in a block's length (8,000 statements: 13 s; in order: 0.7 s), and BPF
    # has no pipeline for it to fill.
    llvm.set_option("pytrace", "-pre-RA-sched=source")
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


def optimize(ir_text: str) -> str:
    """The IR after the O2 pipeline (for `-d ir-opt`)."""
    return str(_optimized_module(ir_text))


def emit_object(ir_text: str) -> bytes:
    """Compile IR text to a relocatable BPF ELF object."""
    mod = _optimized_module(ir_text)
    return bytes(_target_machine().emit_object(mod))


def emit_assembly(ir_text: str) -> str:
    mod = _optimized_module(ir_text)
    return str(_target_machine().emit_assembly(mod))
