"""The probes pass: every attach point expanded into ProbeTargets through the probes
registry, then the run mode, `--probe-filter` and `missing_probes` applied.

- Mode: `test:` probes exist only with --test, `bench:` probes only with --bench; in
  those modes only begin/end and the mode's own probes are kept.
- `--probe-filter REGEX` keeps the targets whose name matches (begin/end always); none
  left is an error.
- An attach point that cannot be expanded (a tracepoint or function that does not
  exist, a probe kind this kernel lacks) is an error, a warning or nothing, as the
  `missing_probes` config says; a block with no target left is not compiled.
- Kind parsers leave unlocated warnings (a wildcard match skipped) in the context.
- An iter probe must be the program's only probe besides BEGIN/END, with one attach
  point.
"""

from __future__ import annotations

import re

from pytrace import nodes
from pytrace import probes as registry
from pytrace.passes.context import CheckedProbe, CheckedProgram
from pytrace.probes.base import NoMatchError, ProbeContext, ProbeError
from pytrace.probes.target import ProbeTarget

SPECIAL = frozenset({"BEGIN", "END"})
MODE_KINDS = {"test": "test", "bench": "bench"}  # mode -> the probe kind it runs


_PARAM = re.compile(r"\$(\d+)")


def with_params(raw: str, params: list[str]) -> str:
    """An attach point with its positional parameters (`uprobe:$1:f`) replaced by their
    text, as strings (a missing one is empty)."""
    def value(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return params[n - 1] if 0 < n <= len(params) else ""

    return _PARAM.sub(value, raw)


def _expand(cp: CheckedProgram, ap: nodes.AttachPoint, ctx: ProbeContext,
            unmatched: list[tuple[nodes.AttachPoint, NoMatchError]]) -> list[ProbeTarget]:
    try:
        return registry.expand(with_params(ap.raw, cp.options.params), ctx)
    except NoMatchError as e:
        unmatched.append((ap, e))  # decided once the probe's other attach points are known
        return []
    except ProbeError as e:
        message, hints = e.message, e.hints
    except Exception as e:  # noqa: BLE001 - any environment problem is one line
        message, hints = f"cannot expand probe '{ap.raw}': {e}", ()
    _missing(cp, ap, message, hints)
    return []


def _missing(cp: CheckedProgram, ap: nodes.AttachPoint, message: str,
             hints: tuple[str, ...]) -> None:
    """An attach point that expands to nothing, reported as missing_probes says."""
    policy = cp.options.missing_probes
    if policy == "warn":
        cp.diagnostics.warning(message, ap.span, *hints)
    elif policy != "ignore":
        cp.diagnostics.error(message, ap.span, *hints)


def _wanted(cp: CheckedProgram, t: ProbeTarget) -> bool:
    """Whether a target runs in this mode."""
    mode_kind = MODE_KINDS.get(cp.options.mode)
    if t.kind in MODE_KINDS.values():
        return t.kind == mode_kind
    return mode_kind is None or t.kind in SPECIAL


def _filter(cp: CheckedProgram) -> None:
    regex = cp.options.probe_filter
    if regex is None:
        return
    try:
        pattern = re.compile(regex)
    except re.error as exc:
        cp.diagnostics.error(f"invalid --probe-filter regular expression '{regex}': {exc}")
        return
    kept = 0
    for checked in cp.probes:
        checked.compiled = [t for t in checked.live
                            if t.kind in SPECIAL or pattern.search(t.name)]
        kept += sum(1 for t in checked.compiled if t.kind not in SPECIAL)
    if kept == 0:
        cp.diagnostics.error(f"No probes matched the probe filter '{regex}'")


def run(cp: CheckedProgram) -> None:
    ctx = ProbeContext(tracefs=cp.options.tracefs, pid=cp.options.pid,
                       unsafe=cp.options.unsafe)
    for probe in cp.program.probes:
        unmatched: list[tuple[nodes.AttachPoint, NoMatchError]] = []
        targets = [t for ap in probe.attach_points for t in _expand(cp, ap, ctx, unmatched)]
        if not targets:  # a wildcard matching nothing is only missing when nothing else is
            for ap, e in unmatched:
                _missing(cp, ap, e.message, e.hints)
        if targets:  # else every attach point is missing (and that was tolerated)
            cp.probes.append(CheckedProbe(probe, targets,
                                          [t for t in targets if _wanted(cp, t)]))
    for message in dict.fromkeys(ctx.warnings):
        cp.diagnostics.warning(message)
    _check_iterators(cp)
    _filter(cp)


def _check_iterators(cp: CheckedProgram) -> None:
    iters = [c for c in cp.probes if any(t.kind == "iter" for t in c.targets)]
    if not iters:
        return
    for c in iters:
        if len(c.probe.attach_points) > 1:
            cp.diagnostics.error("Only single iter attach point is allowed.",
                                 c.probe.attach_points[0].span)
    others = [c for c in cp.probes if c is not iters[0]
              and any(t.kind not in SPECIAL for t in c.targets)]
    for c in others[:1]:
        cp.diagnostics.error("An iter probe cannot be mixed with any other probe, not even "
                             "another iterator (BEGIN and END excepted)",
                             c.probe.attach_points[0].span)
