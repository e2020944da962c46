"""Tests for pytrace.builtins.signatures: every written signature agrees with the
registry's own arity, and every builtin has one."""

from __future__ import annotations

import re

import pytest

from pytrace.builtins import REGISTRY
from pytrace.builtins.signatures import _DOCS, doc, signature, summary

VARIADIC = 8  # "..." stands for at least this many arguments


def _params(alternative: str) -> tuple[int, int]:
    """(required, total) parameters of one written alternative (`n[, k]` -> (1, 2))."""
    text = re.sub(r"(?<=\w)\[\w+\]", "", alternative)  # @map[key] is a subscript
    variadic = "..." in text
    text = text.replace("...", "")
    required = [p for p in re.sub(r"\[[^\[\]]*(?:\[[^\]]*\])?[^\[\]]*\]", "", text).split(",")
                if p.strip()]
    every = [p for p in re.sub(r"[\[\]]", "", text).split(",") if p.strip()]
    return len(required), VARIADIC if variadic else len(every)


def arity(params: str) -> tuple[int, int]:
    found = [_params(alt) for alt in params.split(" | ")]
    return min(r for r, _ in found), max(t for _, t in found)


@pytest.mark.parametrize("name", sorted(_DOCS))
def test_written_signatures_match_the_registry(name: str) -> None:
    b = REGISTRY.get(name)
    assert b is not None, f"{name} is documented but not registered"
    params, text = _DOCS[name]
    assert text
    if params is None:
        assert b.identifier
        return
    lo, hi = arity(params)
    assert lo == b.min_args, (name, params)
    assert hi == b.max_args or (hi == VARIADIC and b.max_args >= VARIADIC), (name, params)


def test_every_builtin_has_a_signature() -> None:
    for name, b in REGISTRY.items():
        assert signature(b).startswith(name)


def test_shapes() -> None:
    assert signature(REGISTRY["hist"]) == "hist(n[, k])"
    assert signature(REGISTRY["pid"]) == "pid"
    assert signature(REGISTRY["count"]) == "count()"
    assert summary(REGISTRY["pid"]).startswith("process id")
    assert doc("no-such-builtin") is None


def test_derived_signature_for_an_undocumented_builtin() -> None:
    import dataclasses

    b = dataclasses.replace(REGISTRY["lhist"], name="newfunc", min_args=1, max_args=3)
    assert signature(b) == "newfunc(a1[, a2, a3])"
    assert summary(b) == ""
