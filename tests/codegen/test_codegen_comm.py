"""`comm == "lit"` loads current->comm through bpf_get_current_task_btf() where kernel
BTF gives task_struct's layout and the program type allows it; otherwise it copies comm
with bpf_get_current_comm (no kernel needed: the generated code is inspected)."""

from __future__ import annotations

import pytest

from pytrace.btf import have_btf
from pytrace.codegen.module import TASK_BTF_PROG_TYPES, ModuleGen
from pytrace.driver import check_source, generate
from pytrace.passes.context import Options
from pytrace.resources import ProgType
from pytrace.source import Source
from pytrace.typetable import TypeTable

FILTER = 'tracepoint:raw_syscalls:sys_enter /comm == "nosuch"/ { @ = count(); }'
TASK_BTF, GET_COMM = "inttoptr i64 158 to", "inttoptr i64 16 to"


def ir_of(text: str, btf: bool = True) -> str:
    checked = check_source(Source("stdin", text), Options())
    if not btf:
        checked.type_table = TypeTable(checked.type_table.defined, btf=False)
    ir_text, _ = generate(checked)
    return ir_text


@pytest.mark.skipif(not have_btf(), reason="the kernel has no BTF")
def test_filter_reads_comm_in_place_with_btf() -> None:
    ir_text = ir_of(FILTER)
    assert TASK_BTF in ir_text and GET_COMM not in ir_text


def test_without_btf_the_helper_copies_comm() -> None:
    ir_text = ir_of(FILTER, btf=False)
    assert TASK_BTF not in ir_text and GET_COMM in ir_text


def test_program_types_outside_the_table_use_the_helper() -> None:
    checked = check_source(Source("stdin", FILTER), Options())
    gen = ModuleGen(checked)
    assert ProgType.TRACING not in TASK_BTF_PROG_TYPES
    assert gen.task_comm_offset(ProgType.TRACING) is None


def test_comm_used_as_a_value_still_copies_it() -> None:
    ir_text = ir_of('tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }')
    assert GET_COMM in ir_text
