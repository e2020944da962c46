"""Code generation: CheckedProgram -> LLVM IR -> BPF ELF object (+ Resources)."""

from __future__ import annotations

from pytrace.passes.context import CheckedProgram
from pytrace.resources import Resources


def generate_ir(checked: CheckedProgram) -> tuple[str, Resources]:
    from pytrace.codegen.module import ModuleGen

    return ModuleGen(checked).build()
