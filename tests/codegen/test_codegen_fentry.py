"""Codegen of fentry/fexit probes: BPF_PROG_TYPE_TRACING programs attached by BTF id,
reading their parameters (and fexit's return value) from the u64 context array."""

from __future__ import annotations

import struct

import pytest

from pytrace.btf import kernel_btf
from pytrace.driver import check_source, generate
from pytrace.passes.context import Options
from pytrace.resources import BPF_TRACE_FENTRY, BPF_TRACE_FEXIT, ProgType
from pytrace.runtime.elf import parse_bpf_elf
from pytrace.source import Source

LDX_DW = 0x79  # BPF_LDX | BPF_MEM | BPF_DW
MOV64_REG = 0xBF
CALL = 0x85


def build(text: str):  # type: ignore[no-untyped-def]
    return generate(check_source(Source("stdin", text), Options()))[1]


def ctx_loads(code: bytes) -> set[int]:
    """Offsets of the 8-byte loads from the context (r1 at entry, and the registers it
    is copied to), followed through straight-line moves."""
    ctx, out = {1}, set()
    for i in range(0, len(code), 8):
        op, regs, off, _imm = struct.unpack_from("<BBhi", code, i)
        dst, src = regs & 0xF, regs >> 4
        if op == LDX_DW and src in ctx:
            out.add(off)
        if op == MOV64_REG and src in ctx:
            ctx.add(dst)
        elif op == CALL:
            ctx -= {1, 2, 3, 4, 5}
        elif op & 0x07 in (0x04, 0x07, 0x01) and dst in ctx:  # ALU/ALU64/LDX write dst
            ctx.discard(dst)
    return out


@pytest.mark.parametrize(("kind", "attach_type"), [("fentry", BPF_TRACE_FENTRY),
                                                  ("fexit", BPF_TRACE_FEXIT)])
def test_tracing_program_names_its_btf_target(kind: str, attach_type: int) -> None:
    obj = build(f"{kind}:vfs_read {{ @ = count(); }}")
    spec = obj.resources.probes[0]
    assert spec.prog_type is ProgType.TRACING
    assert spec.expected_attach_type == attach_type
    kernel = kernel_btf()
    assert kernel is not None
    assert spec.attach["btf_id"] == kernel.function("vfs_read").id  # type: ignore[union-attr]
    assert "btf_module" not in spec.attach  # vmlinux: no BTF object fd at load
    assert spec.section in parse_bpf_elf(obj.elf).programs


def test_parameters_and_retval_come_from_their_words() -> None:
    obj = build("fexit:vfs_read { @c = args.count; @r = retval; }")
    code = parse_bpf_elf(obj.elf).programs[obj.resources.probes[0].section]
    assert {16, 32} <= ctx_loads(code)  # count is parameter 2; retval follows all four


def test_args_struct_copies_the_context_words() -> None:
    obj = build("fentry:vfs_read { print(args); }")
    code = parse_bpf_elf(obj.elf).programs[obj.resources.probes[0].section]
    assert {0, 8, 16, 24} <= ctx_loads(code)


def test_wildcard_makes_one_program_per_function() -> None:
    obj = build("fentry:vfs_read,fentry:vfs_write { @[probe] = sum(args.count); }")
    names = sorted(p.name for p in obj.resources.probes)
    assert names == ["fentry:vfs_read", "fentry:vfs_write"]
    assert len({p.attach["btf_id"] for p in obj.resources.probes}) == 2


def test_pointer_chains_read_kernel_memory() -> None:
    obj = build("fentry:tcp_sendmsg { @[args.sk->__sk_common.skc_family] = count(); }")
    code = parse_bpf_elf(obj.elf).programs[obj.resources.probes[0].section]
    calls = {struct.unpack_from("<i", code, i + 4)[0] for i in range(0, len(code), 8)
             if code[i] == 0x85}
    assert 113 in calls  # bpf_probe_read_kernel
