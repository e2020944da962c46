"""The config pass: the script's `config = { ... }` block checked against the config
variables (pytrace/config.py) and resolved with the environment's values into the
Options fields the later passes, codegen and the runtime read.

An unknown name or a bad value is a located error. The effective value of every
variable is kept in CheckedProgram.config (codegen hands it to the runtime).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from pytrace import config, nodes
from pytrace.options import Options
from pytrace.passes.context import CheckedProgram


def _literal(expr: nodes.Expr) -> tuple[int | str, bool] | None:
    """(value, is_name) of a config value node: an integer, a string or a bare name."""
    if isinstance(expr, nodes.Int):
        return expr.value, False
    if isinstance(expr, nodes.Str):
        return expr.value, False
    if isinstance(expr, nodes.Identifier):
        return expr.name, True
    return None


def block_values(cp: CheckedProgram, block: nodes.Config) -> dict[str, config.Value]:
    """The config block's values by canonical name; errors for what does not fit."""
    out: dict[str, config.Value] = {}
    spans = block.key_spans or [block.span] * len(block.items)
    for (key, expr), key_span in zip(block.items, spans, strict=False):
        name = config.canonical_name(key)
        if name is None:
            cp.diagnostics.error(f"Unrecognized config variable: {key}", key_span)
            continue
        lit = _literal(expr)
        if lit is None:
            cp.diagnostics.error(f"Invalid value for {name}: config values are integers, "
                                 "strings or names", expr.span)
            continue
        try:
            out[name] = config.block_value(config.CONFIG_VARS[name], *lit)
        except config.ConfigValueError as exc:
            cp.diagnostics.error(str(exc), expr.span)
    return out


@functools.cache
def _aslr() -> bool:
    try:
        with open("/proc/sys/kernel/randomize_va_space") as f:
            return f.read().strip() != "0"
    except OSError:
        return True


@functools.cache
def _option_fields() -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(Options))


def _default_symbol_cache(cp: CheckedProgram) -> str:
    """PER_PROGRAM with -c or without ASLR, PER_PID otherwise (the reference's rule)."""
    return "PER_PROGRAM" if cp.options.has_child or not _aslr() else "PER_PID"


def run(cp: CheckedProgram) -> None:
    block: dict[str, config.Value] = {}
    for item in cp.program.preamble:
        if isinstance(item, nodes.Config):
            block.update(block_values(cp, item))
    values = config.resolve(block, cp.options.config)
    values.setdefault("cache_user_symbols", _default_symbol_cache(cp))
    cp.config_set = set(block) | set(cp.options.config)
    cp.config = dict(values)
    fields = _option_fields()
    settings: dict[str, Any] = {k: v for k, v in values.items() if k in fields}
    cp.options = dataclasses.replace(cp.options, **settings)
