"""IR for kstack/ustack (bpf_get_stackid into a STACK_TRACE map) and usdt arguments.

Registers its emitters into codegen.builtins when imported."""

from __future__ import annotations
