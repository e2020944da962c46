"""ModuleGen: one LLVM module for a whole program — map globals, one function per
expanded attach point — and the Resources that describe it to the runtime."""

from __future__ import annotations

import os

from llvmlite import ir

from pytrace.codegen.base import StackOverflow
from pytrace.codegen.emitter import CodegenError, ProgEmitter
from pytrace.codegen.events import EventTable
from pytrace.codegen.llvm import DATA_LAYOUT, TRIPLE
from pytrace.codegen.maps import (
    declare_map_global,
    internal_map_specs,
    stack_map_spec,
    user_map_spec,
)
from pytrace.passes.context import CheckedProgram
from pytrace.resources import MapSpec, ProbeSpec, Resources
from pytrace.types import StackT


def possible_cpus() -> int:
    try:
        with open("/sys/devices/system/cpu/possible") as f:
            text = f.read().strip()
        total = 0
        for part in text.split(","):
            lo, _, hi = part.partition("-")
            total += (int(hi) if hi else int(lo)) - int(lo) + 1
        return total
    except (OSError, ValueError):
        return os.cpu_count() or 1


class ModuleGen:
    ncpus: int

    def __init__(self, checked: CheckedProgram, max_keys: int = 4096) -> None:
        self.checked = checked
        self.module = ir.Module(name=checked.source.name)
        self.module.triple = TRIPLE
        self.module.data_layout = DATA_LAYOUT
        self.events = EventTable()
        self.ncpus = possible_cpus()
        self.probe_names: list[str] = []
        self.specs: dict[str, MapSpec] = {}
        self.globals: dict[str, ir.GlobalVariable] = {}
        for info in checked.maps.values():
            self._add_map(user_map_spec(info, max_keys))
        for spec in internal_map_specs():
            self._add_map(spec)
        if any(isinstance(t, StackT) for t in checked.types.values()):
            self._add_map(stack_map_spec())
        self.probes: list[ProbeSpec] = []

    def _add_map(self, spec: MapSpec) -> None:
        self.specs[spec.name] = spec
        self.globals[spec.name] = declare_map_global(self.module, spec)

    def map_spec(self, name: str) -> MapSpec:
        return self.specs[name]

    def map_global(self, name: str) -> ir.GlobalVariable:
        return self.globals[name]

    def probe_name_index(self, name: str) -> int:
        if name not in self.probe_names:
            self.probe_names.append(name)
        return self.probe_names.index(name)

    def build(self) -> tuple[str, Resources]:
        """Emit every program; CodegenError/StackOverflow carry the offending node."""
        n = 0
        for bi, cp in enumerate(self.checked.probes):
            for target in cp.targets:
                fn_name, section = f"prog_{n}", f"probe_{n}"
                em = ProgEmitter(self, target, bi, fn_name, section)
                try:
                    em.emit_probe(cp.probe)
                except StackOverflow as exc:
                    raise CodegenError(str(exc), cp.probe) from None
                self.probe_name_index(target.name)
                self.probes.append(ProbeSpec(n, target.name, target.kind, section, target.prog_type,
                                             dict(target.attach)))
                n += 1
        resources = Resources(
            maps=tuple(self.specs.values()),
            probes=tuple(self.probes),
            events=tuple(self.events.events),
            probe_names=tuple(self.probe_names),
        )
        return str(self.module), resources
