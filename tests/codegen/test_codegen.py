"""Codegen: programs compile to BPF ELF objects with the right sections, relocations
and Resources (no kernel needed; tests/runtime loads the same objects for real)."""

from __future__ import annotations

import pytest

from pytrace.diagnostics import CompileError
from pytrace.driver import check_source, generate
from pytrace.passes.context import Options
from pytrace.resources import MapKind
from pytrace.runtime.elf import parse_bpf_elf
from pytrace.source import Source
from pytrace.types import AggT, StrT, hist_bucket_index


def build(text: str, params: list[str] | None = None):  # type: ignore[no-untyped-def]
    checked = check_source(Source("stdin", text), Options(params=params or []))
    return generate(checked)


def test_begin_printf_object() -> None:
    ir_text, obj = build('BEGIN { printf("hello %s %d\\n", "world", 42); }')
    res = obj.resources
    assert [p.kind for p in res.probes] == ["BEGIN"]
    assert res.events[0].kind == "printf"
    assert res.events[0].fmt == "hello %s %d\n"
    assert [type(f.type) for f in res.events[0].args] == [StrT, type(res.events[0].args[1].type)]
    elf = parse_bpf_elf(obj.elf)
    assert res.probes[0].section in elf.programs
    # the ring buffer is reached through a relocation the loader patches
    syms = {r.symbol.name for r in elf.relocations[res.probes[0].section]}
    assert "map___ringbuf" in syms
    assert ".rodata" not in elf.data_sections


def test_count_map_is_percpu_hash_with_string_key() -> None:
    _, obj = build("tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }")
    spec = obj.resources.map("@")
    assert spec.kind is MapKind.PERCPU_HASH
    assert spec.key_size == 16 and spec.value_size == 8
    assert isinstance(spec.value_type, AggT) and spec.value_type.kind == "count"


def test_hist_key_has_bucket_slot() -> None:
    _, obj = build("tracepoint:syscalls:sys_exit_read { @h[pid] = hist(args->ret); }")
    spec = obj.resources.map("@h")
    assert spec.key_size == 16  # pid + bucket index


def test_wildcard_expands_to_one_program_per_tracepoint() -> None:
    _, obj = build("tracepoint:syscalls:sys_enter_read* { @[probe] = count(); }")
    names = [p.name for p in obj.resources.probes]
    assert "tracepoint:syscalls:sys_enter_read" in names
    assert len(names) == len(set(names)) > 1
    assert set(obj.resources.probe_names) >= set(names)


def test_no_signed_division_instructions() -> None:
    ir_text, _ = build("BEGIN { $a = -7; $b = 2; printf(\"%d %d\\n\", $a / $b, $a % $b); exit(); }")
    assert " sdiv " not in ir_text and " srem " not in ir_text


def test_stack_overflow_is_a_located_error() -> None:
    body = " ".join(f'$s{i} = str(arg0, 32);' for i in range(16))  # small: on the stack
    with pytest.raises(CompileError) as exc:
        build(f"rawtracepoint:sys_enter {{ {body} }}")
    assert "stack" in exc.value.diagnostics[0].message


def test_large_strings_live_in_scratch_memory() -> None:
    body = " ".join(f'$s{i} = str(arg0);' for i in range(12))  # 12 x 1024 bytes
    _ir, obj = build(f"rawtracepoint:sys_enter {{ {body} }}")
    scratch = obj.resources.map("__scratch")
    assert scratch.value_size == 12 * 1024 and scratch.max_entries == 1


def test_scratch_overflow_is_a_located_error() -> None:
    body = " ".join(f'$s{i} = str(arg0);' for i in range(40))
    with pytest.raises(CompileError) as exc:
        build(f"rawtracepoint:sys_enter {{ {body} }}")
    assert "scratch memory" in exc.value.diagnostics[0].message
    assert exc.value.diagnostics[0].span is not None


@pytest.mark.parametrize("k", [0, 1, 3])
def test_hist_reference_buckets_cover_values(k: int) -> None:
    from pytrace.types import hist_bucket_range

    for v in [-5, 0, 1, 2, 3, 7, 8, 1000, 2**32, 2**40 + 3]:
        lo, hi = hist_bucket_range(hist_bucket_index(v, k), k)
        assert (lo is None or lo <= v) and v <= hi


def test_wide_syscall_glob_becomes_one_dispatcher() -> None:
    _, obj = build("tracepoint:syscalls:sys_enter_* { @[probe] = count(); }")
    raw = [p for p in obj.resources.probes if p.attach.get("category") == "raw_syscalls"]
    assert len(raw) == 1 and raw[0].attach["event"] == "sys_enter"
    total = sum(p.covers for p in obj.resources.probes)
    assert total == len([n for n in obj.resources.probe_names if "sys_enter_" in n]) > 300


def test_few_syscall_tracepoints_attach_one_by_one() -> None:
    _, obj = build("tracepoint:syscalls:sys_enter_read* { @[probe] = count(); }")
    assert all(p.attach["category"] == "syscalls" for p in obj.resources.probes)
