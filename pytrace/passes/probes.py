"""Pass 2: every attach point expanded into ProbeTargets through the probes registry.

Kind parsers raise ProbeError for an attach point that cannot be expanded (a located
error) and leave unlocated warnings (a wildcard match skipped) in the context. An iter
probe must be the program's only probe besides BEGIN/END, with one attach point."""

from __future__ import annotations

from pytrace import probes as registry
from pytrace.passes.context import CheckedProbe, CheckedProgram
from pytrace.probes.base import ProbeContext, ProbeError


def run(cp: CheckedProgram) -> None:
    ctx = ProbeContext(tracefs=cp.options.tracefs, pid=cp.options.pid,
                       unsafe=cp.options.unsafe)
    for probe in cp.program.probes:
        targets = []
        for ap in probe.attach_points:
            try:
                targets.extend(registry.expand(ap.raw, ctx))
            except ProbeError as e:
                cp.diagnostics.error(e.message, ap.span, *e.hints)
            except Exception as e:  # noqa: BLE001 - any environment problem is one line
                cp.diagnostics.error(f"cannot expand probe '{ap.raw}': {e}", ap.span)
        cp.probes.append(CheckedProbe(probe, targets))
    for message in dict.fromkeys(ctx.warnings):
        cp.diagnostics.warning(message)
    _check_iterators(cp)


def _check_iterators(cp: CheckedProgram) -> None:
    iters = [c for c in cp.probes if any(t.kind == "iter" for t in c.targets)]
    if not iters:
        return
    for c in iters:
        if len(c.probe.attach_points) > 1:
            cp.diagnostics.error("Only single iter attach point is allowed.",
                                 c.probe.attach_points[0].span)
    others = [c for c in cp.probes if c is not iters[0]
              and any(t.kind not in ("BEGIN", "END") for t in c.targets)]
    for c in others[:1]:
        cp.diagnostics.error("An iter probe cannot be mixed with any other probe, not even "
                             "another iterator (BEGIN and END excepted)",
                             c.probe.attach_points[0].span)
