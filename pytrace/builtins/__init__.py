"""The builtins registry: every builtin identifier and function by name.

Each entry (base.Builtin) carries how it may be written, its argument count range, its
type rule, the probe kinds it is valid in, and its unsafe/aggregation/map flags. The
typecheck pass consults it; codegen looks entries up by the same names.
"""

from __future__ import annotations

from pytrace.builtins.aggregations import AGGREGATIONS
from pytrace.builtins.base import Builtin, TypeContext, UserFormatT, type_word
from pytrace.builtins.functions import FUNCTIONS
from pytrace.builtins.identifiers import ARGS_TYPE, IDENTIFIERS

REGISTRY: dict[str, Builtin] = {b.name: b for b in (*IDENTIFIERS, *FUNCTIONS, *AGGREGATIONS)}


def lookup(name: str) -> Builtin | None:
    """The registry entry for a name, or None."""
    return REGISTRY.get(name)


def identifier(name: str) -> Builtin | None:
    """The entry for a bare identifier (`pid`, `args`), or None when it is not one."""
    b = REGISTRY.get(name)
    return b if b is not None and b.identifier else None


def function(name: str) -> Builtin | None:
    """The entry for a call `name(...)`, or None (`Unknown function`)."""
    b = REGISTRY.get(name)
    return b if b is not None and b.call else None


__all__ = ["ARGS_TYPE", "REGISTRY", "Builtin", "TypeContext", "UserFormatT", "function",
           "identifier", "lookup", "type_word"]
