"""codegen/dwunwind.py: dw_ustack compiles to the unwinder (its maps sized by the largest
limit, two bpf_loop callbacks); programs without it get none of this."""

from __future__ import annotations

from pytrace.driver import check_source, generate
from pytrace.passes.context import Options
from pytrace.resources import (
    DW_PIDS_MAP,
    DW_ROWS_MAP,
    DW_SCRATCH_MAP,
    DW_STACKS_MAP,
    DW_WARNED_MAP,
    MapKind,
)
from pytrace.source import Source

DW_MAPS = {DW_ROWS_MAP, DW_PIDS_MAP, DW_STACKS_MAP, DW_SCRATCH_MAP, DW_WARNED_MAP}


def build(text: str):  # type: ignore[no-untyped-def]
    return generate(check_source(Source("stdin", text), Options()))


def test_dw_ustack_brings_its_maps_and_callbacks() -> None:
    ir_text, obj = build("uprobe:/bin/bash:main { @[dw_ustack(5)] = count(); "
                         "printf(\"%s\", dw_ustack(perf, 40)); }")
    maps = {m.name: m for m in obj.resources.maps}
    assert DW_MAPS <= set(maps)
    assert maps[DW_STACKS_MAP].value_size == 8 * 40  # the largest limit
    assert maps[DW_SCRATCH_MAP].kind == MapKind.PERCPU_ARRAY
    assert maps[DW_ROWS_MAP].max_entries == 1  # the runtime sizes it to its tables
    assert "pytrace_dw_frame_cb" in ir_text and "pytrace_dw_search_cb" in ir_text


def test_kernel_context_probes_read_the_task_user_registers() -> None:
    ir_text, _ = build("tracepoint:syscalls:sys_enter_getpid { @[dw_ustack] = count(); }")
    assert "inttoptr i64 175 to" in ir_text  # bpf_task_pt_regs


def test_programs_without_dw_ustack_are_unchanged() -> None:
    ir_text, obj = build("uprobe:/bin/bash:main { @[ustack] = count(); }")
    assert not DW_MAPS & {m.name for m in obj.resources.maps}
    assert "pytrace_dw" not in ir_text
