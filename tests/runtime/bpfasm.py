"""Test-only helper: compile small LLVM IR snippets to BPF ELF objects with llvmlite
and wrap them as BpfObjects with hand-built Resources."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import llvmlite.binding as llvm

from pytrace.resources import BpfObject, MapKind, MapSpec, ProbeSpec, ProgType, Resources

HEADER = """
target datalayout = "e-m:e-p:64:64-i64:64-i128:128-n32:64-S128"
target triple = "bpfel"
"""
FOOTER = "\nattributes #0 = { nounwind }\nattributes #1 = { nounwind noinline }\n"

# helper calls, as IR expressions
LOOKUP = "inttoptr (i64 1 to ptr)"
UPDATE = "inttoptr (i64 2 to ptr)"
PID_TGID = "inttoptr (i64 14 to ptr)"
RB_RESERVE = "inttoptr (i64 131 to ptr)"
RB_SUBMIT = "inttoptr (i64 132 to ptr)"

_machine: llvm.TargetMachine | None = None


def compile_ir(body: str) -> bytes:
    """Compile IR (without the target header) to a relocatable BPF object."""
    global _machine
    if _machine is None:
        llvm.initialize_all_targets()
        llvm.initialize_all_asmprinters()
        target = llvm.Target.from_triple("bpfel")
        _machine = target.create_target_machine(cpu="v3", opt=2, reloc="static")
    mod = llvm.parse_assembly(HEADER + body + FOOTER)
    mod.verify()
    return bytes(_machine.emit_object(mod))


def map_global(symbol: str) -> str:
    return f'@{symbol} = dso_local global i64 0, section ".maps", align 8\n'


def counter_fn(name: str, section: str, maps: str, key_expr: str = "tgid",
               only_tgid: int | None = None) -> str:
    """A probe function that counts into map `maps` (hash or per-CPU hash, u64 → u64).

    key_expr: 'tgid' (the process id) or 'zero'. only_tgid: count only that process.
    """
    key = "%tgid" if key_expr == "tgid" else "0"
    check = ("br label %go" if only_tgid is None else
             f"%mine = icmp eq i64 %tgid, {only_tgid}\n  br i1 %mine, label %go, label %out")
    return f"""
define i64 @{name}(ptr %ctx) #0 section "{section}" {{
entry:
  %k = alloca i64, align 8
  %one = alloca i64, align 8
  %pt = call i64 {PID_TGID}()
  %tgid = lshr i64 %pt, 32
  {check}
go:
  store i64 {key}, ptr %k
  %v = call ptr {LOOKUP}(ptr @{maps}, ptr %k)
  %isnull = icmp eq ptr %v, null
  br i1 %isnull, label %ins, label %inc
inc:
  %old = load i64, ptr %v
  %new = add i64 %old, 1
  store i64 %new, ptr %v
  br label %out
ins:
  store i64 1, ptr %one
  %r = call i64 {UPDATE}(ptr @{maps}, ptr %k, ptr %one, i64 0)
  br label %out
out:
  ret i64 0
}}
"""


def ringbuf_fn(name: str, section: str, rb: str, lost: str, event_id: int,
               only_tgid: int | None = None) -> str:
    """A probe that submits a 16-byte record (u64 event_id, u64 tgid) to ring buffer `rb`."""
    check = ("br label %go" if only_tgid is None else
             f"%mine = icmp eq i64 %tgid, {only_tgid}\n  br i1 %mine, label %go, label %out")
    return f"""
define i64 @{name}(ptr %ctx) #0 section "{section}" {{
entry:
  %k = alloca i32, align 4
  %pt = call i64 {PID_TGID}()
  %tgid = lshr i64 %pt, 32
  {check}
go:
  %p = call ptr {RB_RESERVE}(ptr @{rb}, i64 16, i64 0)
  %isnull = icmp eq ptr %p, null
  br i1 %isnull, label %lost, label %fill
fill:
  store i64 {event_id}, ptr %p
  %p2 = getelementptr i8, ptr %p, i64 8
  store i64 %tgid, ptr %p2
  call void {RB_SUBMIT}(ptr %p, i64 0)
  br label %out
lost:
  store i32 0, ptr %k
  %c = call ptr {LOOKUP}(ptr @{lost}, ptr %k)
  %cnull = icmp eq ptr %c, null
  br i1 %cnull, label %out, label %bump
bump:
  %o = atomicrmw add ptr %c, i64 1 seq_cst
  br label %out
out:
  ret i64 0
}}
"""


def hash_map(name: str, symbol: str, kind: MapKind = MapKind.HASH,
             entries: int = 1024) -> MapSpec:
    return MapSpec(name, symbol, kind, 8, 8, entries)


def ringbuf_maps(size: int = 1 << 16) -> tuple[MapSpec, MapSpec]:
    return (MapSpec("__ringbuf", "rb", MapKind.RINGBUF, 0, 0, size),
            MapSpec("__lost", "lost", MapKind.PERCPU_ARRAY, 4, 8, 1))


def probe(name: str, kind: str, section: str, prog_type: ProgType,
          attach: Mapping[str, str | int] | None = None, index: int = 0) -> ProbeSpec:
    return ProbeSpec(index, name, kind, section, prog_type, dict(attach or {}))


def make_object(ir: str, maps: Sequence[MapSpec], probes: Sequence[ProbeSpec]) -> BpfObject:
    """Compile IR whose map globals are declared for `maps` and wrap it."""
    decls = "".join(map_global(m.symbol) for m in maps)
    return BpfObject(compile_ir(decls + ir), Resources(tuple(maps), tuple(probes)))
