"""Names that casts use as types, found by offset (the text is never rewritten)."""

from __future__ import annotations

from pytrace.cdefs.casts import type_name_offsets
from pytrace.types import IntT, PtrT, Type


def _offsets(text: str, known: dict[str, Type] | None = None) -> list[int]:
    table = known or {}
    return sorted(type_name_offsets(text, table.get, frozenset({"pid"})))


def test_macro_type_parameters() -> None:
    text = 'macro f(a, $v, @m) { (a*)$v + (a)$v + (a[4])$v; let $x: a = 1; (a) - 1 }'
    casts = [text.index("(a*)") + 1, text.index("(a)$v") + 1, text.index("(a[4])") + 1]
    # the casts; not `(a) - 1` (a subtraction), the declaration (the grammar takes a bare
    # name there) nor the parameter list
    assert _offsets(text) == casts


def test_only_inside_the_macro_body() -> None:
    text = 'macro f(a) { { "}" } (a)1 } BEGIN { (a)1 }'
    assert _offsets(text) == [text.index("(a)1") + 1]
    assert _offsets("BEGIN { (a)1 }") == []


def test_typedef_casts_only_for_known_castable_names() -> None:
    text = "BEGIN { (u64)1; (pid)1; (ptr_t)1; (nope)1; (uint64)1 }"
    found = _offsets(text, {"u64": IntT(64, False), "ptr_t": PtrT(None), "pid": IntT(32)})
    assert found == [text.index("u64")]
