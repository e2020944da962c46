"""The map declarations pass: `let @m = hash(N);` checked and recorded.

A declaration names the BPF map type and its maximum number of entries; undeclared maps
get `max_entries = max_map_keys`. Whether the declared type suits the values stored in
the map (per-CPU types hold aggregations, the others plain values) is checked by the
maps pass, which also warns about declared maps no probe uses.
"""

from __future__ import annotations

from pytrace import nodes
from pytrace.passes.context import CheckedProgram, MapDeclInfo

# type word -> what it is (bpftrace's map types)
MAP_TYPES = {
    "hash": "BPF_MAP_TYPE_HASH",
    "lruhash": "BPF_MAP_TYPE_LRU_HASH",
    "percpuhash": "BPF_MAP_TYPE_PERCPU_HASH",
    "percpulruhash": "BPF_MAP_TYPE_LRU_PERCPU_HASH",
    "percpuarray": "BPF_MAP_TYPE_PERCPU_ARRAY",
}
MAX_ENTRIES = 1 << 24


def _max_entries(cp: CheckedProgram, d: nodes.MapDecl) -> int | None:
    if len(d.args) != 1:
        cp.diagnostics.error(f"{d.kind}() takes one argument, the maximum number of entries "
                             f"({len(d.args)} provided)", d.span,
                             f"e.g. let {d.name} = {d.kind}(1024);")
        return None
    arg = d.args[0]
    if not isinstance(arg, nodes.Int) or not 1 <= arg.value <= MAX_ENTRIES:
        cp.diagnostics.error(f"the maximum number of entries of {d.name} must be an integer "
                             f"literal from 1 to {MAX_ENTRIES}", arg.span)
        return None
    return arg.value


def run(cp: CheckedProgram) -> None:
    decls = cp.program.map_decls
    if decls and cp.options.unstable_map_decl == "error":
        cp.diagnostics.error("map declarations are disabled by the config "
                             "(unstable_map_decl=error)", decls[0].span)
        return
    for d in decls:
        if d.kind not in MAP_TYPES:
            cp.diagnostics.error(f"Invalid map type: {d.kind}", d.span,
                                 "map types are " + ", ".join(MAP_TYPES))
            continue
        if d.name in cp.map_decls:
            cp.diagnostics.error(f"Map {d.name} is declared twice", d.span)
            continue
        n = _max_entries(cp, d)
        if n is not None:
            cp.map_decls[d.name] = MapDeclInfo(d.kind, n, d.span)
