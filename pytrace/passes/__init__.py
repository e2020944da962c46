"""The semantic passes: `check(program, source, options) -> CheckedProgram`.

PIPELINE runs in order; each pass records Diagnostics in the CheckedProgram and the
pipeline stops after the first pass that recorded an error. check() never raises.
"""

from __future__ import annotations

from collections.abc import Callable

from pytrace import nodes
from pytrace.passes.context import CheckedProgram, Options
from pytrace.passes.walk import deepest_span
from pytrace.source import Source
from pytrace.typetable import TypeTable

Pass = Callable[[CheckedProgram], None]
NESTED_TOO_DEEPLY = "program is nested too deeply"


def pipeline() -> list[Pass]:
    """The passes in order. Imported on first use: a cached object needs none of them,
    and importing `pytrace.passes.context` alone must stay cheap."""
    from pytrace.passes import (
        compiletime,
        config,
        imports,
        macros,
        mapdecls,
        maps,
        preamble,
        printf,
        probes,
        resolve,
        scopes,
        typecheck,
    )

    return [config.run, imports.run, macros.run, preamble.run, mapdecls.run, probes.run, scopes.run,
            resolve.run, typecheck.run, maps.run, printf.run, compiletime.run]


def __getattr__(name: str) -> object:
    if name == "PIPELINE":
        return pipeline()
    raise AttributeError(name)


def check(program: nodes.Program, source: Source, options: Options | None = None,
          types: TypeTable | None = None) -> CheckedProgram:
    """Run every pass over a parsed program; errors are in `.diagnostics`. `types` holds
    the program's C definitions (backed by kernel BTF); a fresh table otherwise."""
    cp = CheckedProgram(source=source, program=program, options=options or Options(),
                        type_table=types if types is not None else TypeTable())
    for run in pipeline():
        try:
            run(cp)
        except RecursionError:
            cp.diagnostics.error(NESTED_TOO_DEEPLY, deepest_span(program))
        except Exception as e:  # noqa: BLE001 - a pass bug must not become a traceback
            cp.diagnostics.error(f"internal error in {run.__module__}: {type(e).__name__}: {e}")
        if cp.diagnostics.has_errors:
            break
    return cp


__all__ = ["PIPELINE", "CheckedProgram", "Options", "check"]
