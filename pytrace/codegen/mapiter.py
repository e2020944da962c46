"""IR for map iteration: len(@m) and `for ($kv : @m)` (bpf_for_each_map_elem callbacks).

Registers its emitters into codegen.builtins.CALLS when imported."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytrace import nodes

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter


def emit_for_map(p: ProgEmitter, s: nodes.For) -> None:
    from pytrace.codegen.emitter import CodegenError

    raise CodegenError("for loops over maps are not supported yet", s)
