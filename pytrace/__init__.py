"""pytrace: a bpftrace-compatible tracing language, compiler and REPL — and a Python API.

    import pytrace
    with pytrace.trace('tracepoint:syscalls:sys_enter_openat { @opens[comm] = count(); }') as s:
        s.wait(1)
        print(dict(s.maps["@opens"]))

The API's names are imported on first use, so `python -m pytrace` (the CLI) pays
nothing for them. See docs/python-api.md.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from pytrace.api.events import Event, TraceWarning
    from pytrace.api.maps import Maps, MapView
    from pytrace.api.program import Program, compile
    from pytrace.api.run import Result, run
    from pytrace.api.session import Session, trace
    from pytrace.diagnostics import CompileError, Diagnostic, Severity
    from pytrace.runtime.errors import (
        FeatureUnavailable,
        PrivilegeError,
        TraceError,
        VerifierError,
    )
    from pytrace.values import Bucket, Histogram, Stack, Stats, Symbol

# public name -> the module that defines it
_EXPORTS = {
    "compile": "pytrace.api.program",
    "Program": "pytrace.api.program",
    "trace": "pytrace.api.session",
    "Session": "pytrace.api.session",
    "run": "pytrace.api.run",
    "Result": "pytrace.api.run",
    "Maps": "pytrace.api.maps",
    "MapView": "pytrace.api.maps",
    "Event": "pytrace.api.events",
    "TraceWarning": "pytrace.api.events",
    "CompileError": "pytrace.diagnostics",
    "Diagnostic": "pytrace.diagnostics",
    "Severity": "pytrace.diagnostics",
    "TraceError": "pytrace.runtime.errors",
    "PrivilegeError": "pytrace.runtime.errors",
    "FeatureUnavailable": "pytrace.runtime.errors",
    "VerifierError": "pytrace.runtime.errors",
    "Histogram": "pytrace.values",
    "Bucket": "pytrace.values",
    "Stats": "pytrace.values",
    "Stack": "pytrace.values",
    "Symbol": "pytrace.values",
}

__all__ = [
    "Bucket",
    "CompileError",
    "Diagnostic",
    "Event",
    "FeatureUnavailable",
    "Histogram",
    "MapView",
    "Maps",
    "PrivilegeError",
    "Program",
    "Result",
    "Session",
    "Severity",
    "Stack",
    "Stats",
    "Symbol",
    "TraceError",
    "TraceWarning",
    "VerifierError",
    "__version__",
    "compile",
    "run",
    "trace",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pytrace' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
