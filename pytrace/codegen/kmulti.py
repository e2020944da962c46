"""One program for many kernel functions: a wide kprobe or kretprobe block attached
with a kprobe_multi BPF link (BPF_TRACE_KPROBE_MULTI) instead of one program per
function. The program asks bpf_get_func_ip() which function fired and looks the
address up in a hash map the runtime fills at load from /proc/kallsyms: the value
holds the probe's name index (`probe`) and the function's name (`func`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytrace.codegen.base import I64, c64
from pytrace.codegen.maps import map_symbol
from pytrace.probes.kmulti import (  # noqa: F401 (re-exported)
    BPF_TRACE_KPROBE_MULTI,
    KINDS,
    VALUE_SIZE,
    groupable,
    map_name,
    value_bytes,
)
from pytrace.resources import MapKind, MapSpec

if TYPE_CHECKING:
    from pytrace import nodes
    from pytrace.codegen.emitter import ProgEmitter

GET_FUNC_IP = 173  # bpf_get_func_ip


def map_spec(index: int, count: int) -> MapSpec:
    """Room for every function twice: a name kallsyms lists at several addresses
    (static functions of different files) gets one entry per address."""
    name = map_name(index)
    return MapSpec(name, map_symbol(name), MapKind.HASH, 8, VALUE_SIZE, max(1, 2 * count))


def emit(p: ProgEmitter, probe: nodes.Probe, index: int) -> None:
    """The shared program: find the firing function's entry (return when the address is
    unknown), then compile the body once with `probe`/`func` read from the entry."""
    ip = p.helper(GET_FUNC_IP, I64, [p.ctx])
    key = p.alloca_i64("kmulti.ip")
    p.b.store(ip, key)
    entry = p.maps.lookup(p.gen.map_global(map_name(index)), p.b.bitcast(key, p.P8))
    with p.b.if_then(p.is_null(entry)):
        p.b.ret(c64(0))
    slot = p.alloca_i64("probe.id")
    p.b.store(p.load64(entry, 0), slot)
    p.probe_slot = slot
    p.kfunc_entry = entry
    p.emit_body(probe)
    p.probe_slot = None
    p.kfunc_entry = None
    p.finish()
