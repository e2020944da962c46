"""The probes registry package. The registry itself (`registry.py`: every attach point
spelling -> the parser of its kind, `expand`, `list_probes`, `tracepoint_fields`) is
imported on first use, so that importing the `target` contract stays cheap for the
runtime and for cached start-ups."""

from __future__ import annotations

from typing import Any

_EXPORTS = frozenset({"KINDS", "SPELLINGS", "ProbeContext", "ProbeError", "ProbeKind", "ProbeTarget",
                      "TpField", "expand", "kind_of", "list_probes", "parse_format", "tracepoint_fields",
                      "suggest"})


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:  # submodules are found by the import system itself
        raise AttributeError(f"module 'pytrace.probes' has no attribute {name!r}")
    from pytrace.probes import registry

    return getattr(registry, name)
