"""Code generation: CheckedProgram -> LLVM IR -> BPF ELF object (+ Resources)."""

from __future__ import annotations

from pytrace.passes.context import CheckedProgram
from pytrace.resources import BpfObject, Resources


def generate_ir(checked: CheckedProgram) -> tuple[str, Resources]:
    from pytrace.codegen.module import ModuleGen

    return ModuleGen(checked).build()


def compile_program(checked: CheckedProgram) -> BpfObject:
    from pytrace.codegen.llvm import emit_object

    ir_text, resources = generate_ir(checked)
    return BpfObject(emit_object(ir_text), resources)
