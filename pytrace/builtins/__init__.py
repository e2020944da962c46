"""The builtins registry: every builtin identifier and function by name.

Each entry (base.Builtin) carries how it may be written, its argument count range, its
type rule, the probe kinds it is valid in, its unsafe/aggregation/map flags, its lowering
to BPF and (for values userspace renders) its decoder. The passes consult it; codegen
and the runtime's decoding look entries up by the same names. One module per family.
"""

from __future__ import annotations

from pytrace.builtins.addresses import ADDRESSES
from pytrace.builtins.aggregations import AGGREGATIONS
from pytrace.builtins.base import Builtin, TypeContext, UserFormatT, type_word
from pytrace.builtins.functions import FUNCTIONS
from pytrace.builtins.identifiers import ARGS_TYPE, IDENTIFIERS
from pytrace.builtins.mapfuncs import MAP_FUNCTIONS
from pytrace.builtins.network import NETWORK
from pytrace.builtins.output import OUTPUT
from pytrace.builtins.signals import SIGNALS
from pytrace.builtins.stacks import STACKS
from pytrace.builtins.strings import STRINGS
from pytrace.builtins.tseries import TSERIES
from pytrace.builtins.typeinfo import TYPEINFO

FAMILIES: tuple[tuple[Builtin, ...], ...] = (
    IDENTIFIERS, STACKS, OUTPUT, MAP_FUNCTIONS, STRINGS, FUNCTIONS, ADDRESSES, NETWORK,
    SIGNALS, AGGREGATIONS, TYPEINFO, TSERIES)


def _registry() -> dict[str, Builtin]:
    out: dict[str, Builtin] = {}
    for family in FAMILIES:
        for b in family:
            if b.name in out:
                raise ValueError(f"builtin {b.name} is registered twice")
            out[b.name] = b
    return out


REGISTRY: dict[str, Builtin] = _registry()


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
