"""Pass 5: automatic map declarations (MapInfo) from every use across all blocks.

Value types unify over every assignment in source order; key counts and key types must
agree at every access; a map that is never assigned is an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from pytrace import builtins, nodes
from pytrace.builtins.base import type_word
from pytrace.diagnostics import Diagnostics
from pytrace.keynames import key_names
from pytrace.passes.context import CheckedProgram, MapInfo
from pytrace.passes.walk import children, probe_roots, walk
from pytrace.source import Span
from pytrace.types import AggT, IntT, PtrT, TupleT, Type, merge_ints, unify, unify_values

KEYED_CALLS = frozenset({"delete", "has_key", "find"})


def sign_mismatch(diags: Diagnostics, what: str, old: Type, new: Type, span: Span) -> None:
    """Stored integers of different signs that no integer type holds both of (uint64 and a
    signed type): the variable or map becomes int64, with this warning."""
    diags.warning(f"Integer sign mismatch for {what}: no integer type holds both '{old}' and "
                  f"'{new}', so it is int64 (large unsigned values read back as negative)",
                  span)


def unify_value(old: Type, new: Type, literal: int | None = None) -> Type | None:
    """The map value type after storing `new` (`literal`: its value when it is an integer
    literal) into a map holding `old` (None: conflict)."""
    if isinstance(old, AggT) or isinstance(new, AggT):
        if not (isinstance(old, AggT) and isinstance(new, AggT)) or old.kind != new.kind:
            return None
        same = (old.hist_bits, old.lmin, old.lmax, old.lstep) == (
            new.hist_bits, new.lmin, new.lmax, new.lstep)
        # different signs make a signed aggregation, as bpftrace does
        return replace(old, signed=old.signed or new.signed) if same else None
    if isinstance(old, IntT) and isinstance(new, IntT):
        return merge_ints(old, new, literal)[0]
    if isinstance(old, IntT | PtrT) and isinstance(new, IntT | PtrT):
        return unify(old, new) or IntT(64, False)
    return unify_values(old, new)


@dataclass
class MapUses:
    value: Type | None = None
    keys: list[Type] | None = None  # None until the first keyed or unkeyed access
    multi: bool = False
    span: Span | None = None
    used: list[nodes.Node] = field(default_factory=list)
    names: tuple[str, ...] = ()  # label names from the first keyed access


class MapCollector:
    def __init__(self, cp: CheckedProgram) -> None:
        self.cp = cp
        self.diags: Diagnostics = cp.diagnostics
        self.uses: dict[str, MapUses] = {}

    def visit(self, node: nodes.Node) -> None:
        target = getattr(node, "target", None)
        if isinstance(node, nodes.Assign | nodes.IncDec) and isinstance(target, nodes.MapRef):
            value = node.value if isinstance(node, nodes.Assign) and node.op is None else None
            self.define(target, None if value is None else
                        nodes.literal_value(value, self.cp.constants))
            for child in children(node):
                for sub in ([*target.keys] if child is target else [child]):
                    self.visit(sub)
            return
        if isinstance(node, nodes.MapRef):
            self.use(node)
            return
        if isinstance(node, nodes.For) and isinstance(node.iterable, nodes.MapRef):
            self.whole(node.iterable)
            self.visit(node.body)
            return
        if isinstance(node, nodes.Call) and self.map_call(node):
            return
        for child in children(node):
            self.visit(child)

    def map_call(self, call: nodes.Call) -> bool:
        """A call whose first argument is a map without keys (`clear(@m)`, `delete(@m, k)`);
        False when the call is not one of those."""
        entry = builtins.function(call.name)
        first = call.args[0] if call.args else None
        if entry is None or not entry.map_arg or not isinstance(first, nodes.MapRef) \
                or first.keys:
            return False
        if call.name in KEYED_CALLS and len(call.args) >= 2:
            self.uses.setdefault(first.name, MapUses()).used.append(first)
            self.check_keys(first.name, [call.args[1]], call.span)
        elif call.name == "delete":
            self.use(first, call.span)  # delete(@m): the element of a map without keys
        else:
            self.whole(first)
        for arg in call.args[1:]:
            self.visit(arg)
        return True

    def define(self, m: nodes.MapRef, literal: int | None = None) -> None:
        """A map written by an assignment (`literal`: the value stored, when it is an
        integer literal) or by ++/--."""
        info = self.uses.setdefault(m.name, MapUses())
        info.span = info.span or m.span
        t = self.cp.types.get(m)
        if t is not None and info.value is None:
            info.value = t
        elif t is not None and info.value is not None:
            merged = unify_value(info.value, t, literal)
            if merged is None and _same_agg_kind(info.value, t, "lhist"):
                self.diags.error("Different lhist bounds in a single map unsupported", m.span)
            elif merged is None and _same_agg_kind(info.value, t, "hist"):
                self.diags.error("Different hist bucket sizes in a single map unsupported", m.span)
            elif merged is None:
                self.diags.error(f"Type mismatch for {m.name}: trying to assign value of type "
                                 f"'{t}' when map already contains a value of type "
                                 f"'{info.value}'", m.span)
            else:
                if isinstance(info.value, IntT) and isinstance(t, IntT) \
                        and merge_ints(info.value, t, literal)[1]:
                    sign_mismatch(self.diags, m.name, info.value, t, m.span)
                info.value = merged
        if m.keys:
            self.check_keys(m.name, m.keys, m.span)
        elif info.keys is None:
            info.keys = []
        elif info.keys:
            self.key_mismatch(m.name, [], info.keys, m.span)

    def use(self, m: nodes.MapRef, span: Span | None = None) -> None:
        """A read of one element: its keys must match the map's (none for `@m`)."""
        self.uses.setdefault(m.name, MapUses()).used.append(m)
        self.check_keys(m.name, m.keys, span or m.span)

    def whole(self, m: nodes.MapRef) -> None:
        """The whole map as an argument (print(@m), clear(@m), for (... : @m))."""
        self.uses.setdefault(m.name, MapUses()).used.append(m)

    def check_keys(self, name: str, keys: list[nodes.Expr], span: Span) -> None:
        info = self.uses.setdefault(name, MapUses())
        types = [self.cp.types.get(k) for k in keys]
        if any(t is None for t in types):
            return
        got = [t for t in types if t is not None]
        if len(got) == 1 and isinstance(got[0], TupleT):
            got = list(got[0].elems)  # @m[(a, b)] is @m[a, b]
        if info.keys is None:
            info.keys, info.multi = got, len(got) > 1 or len(keys) != len(got)
            info.names = key_names(keys)
            return
        if len(got) != len(info.keys):
            self.key_mismatch(name, got, info.keys, span)
            return
        merged = [unify_value(a, b) for a, b in zip(info.keys, got, strict=False)]
        if any(t is None for t in merged) or any(isinstance(t, AggT) for t in merged):
            self.key_mismatch(name, got, info.keys, span)
            return
        info.keys = [t for t in merged if t is not None]

    def key_mismatch(self, name: str, got: list[Type], want: list[Type], span: Span) -> None:
        def show(ts: list[Type]) -> str:
            return "[" + ", ".join(str(t) for t in ts) + "]"

        expects = f"arguments: {show(want)}" if want else "no arguments"
        self.diags.error(f"Argument mismatch for {name}: trying to access with arguments: "
                         f"{show(got)} when map expects {expects}", span)


def key_type(keys: list[Type]) -> Type | None:
    if not keys:
        return None
    return keys[0] if len(keys) == 1 else TupleT(tuple(keys))


PERCPU_TYPES = "percpuhash, percpulruhash or percpuarray"


def check_decl(cp: CheckedProgram, info: MapInfo) -> None:
    """The declared map type must suit the values: per-CPU types hold aggregations."""
    decl = info.decl
    if decl is None:
        return
    agg = isinstance(info.value_type, AggT)
    if agg and not decl.percpu:
        cp.diagnostics.error(f"Incompatible map type for {info.name}: it is declared "
                             f"{decl.kind}, but its {type_word(info.value_type)} values need "
                             f"a per-CPU map type ({PERCPU_TYPES})", decl.span)
    elif not agg and decl.percpu:
        cp.diagnostics.error(f"Incompatible map type for {info.name}: it is declared "
                             f"{decl.kind}, but per-CPU maps hold aggregations (count(), sum() "
                             "...), not plain values", decl.span, "declare it hash or lruhash")
    elif decl.kind == "percpuarray":
        if isinstance(info.value_type, AggT) and info.value_type.is_bucketed:
            cp.diagnostics.error(f"{info.name} is declared percpuarray, which cannot hold "
                                 f"{info.value_type.kind}() values", decl.span,
                                 "declare it percpuhash")
        elif info.key_type is not None and not isinstance(info.key_type, IntT):
            cp.diagnostics.error(f"{info.name} is declared percpuarray: its key must be an "
                                 f"integer from 0 to {decl.max_entries - 1}, not "
                                 f"'{info.key_type}'", decl.span)


def run(cp: CheckedProgram) -> None:
    collector = MapCollector(cp)
    for checked in cp.probes:
        for root in probe_roots(checked.probe):
            collector.visit(root)
    for name, info in sorted(collector.uses.items()):
        if info.value is None:
            first = info.used[0].span if info.used else None
            cp.diagnostics.error(f"Undefined map: {name}", first)
            continue
        cp.maps[name] = MapInfo(name, key_type(info.keys or []), info.value,
                                info.span or Span(0, 0, 0, 0), multi_key=info.multi,
                                key_names=info.names, decl=cp.map_decls.get(name))
        check_decl(cp, cp.maps[name])
    for name, decl in cp.map_decls.items():
        if name not in collector.uses:
            cp.diagnostics.warning(f"Unused map: {name}", decl.span)
    check_unstable(cp)
    check_dw_ustack(cp)


def check_dw_ustack(cp: CheckedProgram) -> None:
    """dw_ustack is unstable (unstable_dw_ustack: warn, enable or error) and x86_64 only."""
    uses = [n for p in cp.program.probes for root in probe_roots(p) for n in walk(root)
            if isinstance(n, nodes.Call | nodes.Identifier) and n.name == "dw_ustack"]
    if not uses:
        return
    if os.uname().machine != "x86_64":
        cp.diagnostics.error("dw_ustack is only available on x86_64 (its unwinder follows "
                             "the x86_64 registers and call ABI)", uses[0].span)
        return
    unstable_flag(cp, "dw_ustack", "unstable_dw_ustack", uses[0].span)


def check_unstable(cp: CheckedProgram) -> None:
    """tseries() is an unstable feature: refused with unstable_tseries=error; a warning
    unless the config (or the environment) says unstable_tseries explicitly."""
    used = [m for m in cp.maps.values()
            if isinstance(m.value_type, AggT) and m.value_type.kind == "tseries"]
    if not used:
        return
    unstable_flag(cp, "tseries()", "unstable_tseries", used[0].span)


def unstable_flag(cp: CheckedProgram, what: str, flag: str, span: Span) -> None:
    """An unstable feature used at span: refused with FLAG=error; a warning unless the
    config (or the environment) sets FLAG explicitly."""
    mode = getattr(cp.options, flag)
    if mode == "error":
        cp.diagnostics.error(f"{what} is an unstable feature and the config disables it "
                             f"({flag}=error)", span)
    elif mode == "warn" and flag not in cp.config_set:
        cp.diagnostics.warning(f"{what} is an unstable feature (it may change); set "
                               f"{flag}=enable in the config block to silence this warning",
                               span)


def _same_agg_kind(a: object, b: object, kind: str) -> bool:
    """Both are aggregations of `kind` (then only their parameters differ)."""
    return getattr(a, "kind", None) == kind and getattr(b, "kind", None) == kind
