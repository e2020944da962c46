"""The value representation inside codegen: a typed IR value.

Scalars (integers, pointers, probe ids) are i64 IR values; everything else (strings,
tuples, buffers, records) is an i8* pointing at a zero-padded buffer laid out by the
layout rule in pytrace/types.py.

Imports no llvmlite at run time, so the builtins registry can name `Val` in its
lowering functions without the front end loading LLVM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytrace.types import AggT, IntT, ProbeNameT, PtrT, Type, UserFormatT

if TYPE_CHECKING:
    from llvmlite import ir


def is_scalar(t: Type) -> bool:
    return isinstance(t, (IntT, PtrT, ProbeNameT, AggT)) or (
        isinstance(t, UserFormatT) and t.scalar)


def is_signed(t: Type) -> bool:
    if isinstance(t, IntT):
        return t.signed
    if isinstance(t, AggT):
        return t.signed
    return False


@dataclass(slots=True)
class Val:
    t: Type
    v: ir.Value

    @property
    def scalar(self) -> bool:
        return is_scalar(self.t)
