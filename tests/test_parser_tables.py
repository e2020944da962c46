"""The parser table shipped for fresh machines matches the grammar (rebuild it with
`python -c "from pytrace.parser import build_packaged_tables; build_packaged_tables()"`)."""

from __future__ import annotations

import hashlib

import lark
import pytest

from pytrace import parser
from pytrace.source import Source


def test_shipped_table_is_for_the_current_grammar() -> None:
    digest = hashlib.sha256(parser.GRAMMAR_PATH.read_text().encode()).hexdigest()[:16]
    tables = list(parser.PACKAGED_DIR.glob("*.tables"))
    assert tables and all(t.name.endswith(f"-{digest}.tables") for t in tables)


def test_shipped_table_parses_like_a_built_parser() -> None:
    grammar = parser.GRAMMAR_PATH.read_text()
    if not parser._packaged_path(grammar).exists():
        pytest.skip(f"no table shipped for lark {lark.__version__}")
    loaded = parser._load_packaged(grammar)
    assert loaded is not None
    built = lark.Lark(grammar, **parser._OPTIONS)  # type: ignore[arg-type]
    text = 'uprobe:/bin/bash:readline /pid == 1/ { @[comm, $1] = hist(arg0 + 2 * 3); printf("%d\\n", 1); }'
    assert loaded.parse(text) == built.parse(text)
    program, diags = parser.parse(Source("stdin", text))
    assert program is not None and not diags
