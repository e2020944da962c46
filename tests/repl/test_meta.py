"""Tests for pytrace.repl.meta: every meta command parsed, every error one line."""

from __future__ import annotations

import pytest

from pytrace.repl import meta
from pytrace.repl.meta import (
    COMMANDS,
    Clear,
    Detach,
    Help,
    Load,
    Maps,
    MetaError,
    Print,
    Probes,
    Quit,
    Save,
    Serve,
    Watch,
)


@pytest.mark.parametrize(("line", "expected"), [
    (".help", Help()),
    (".help watch", Help(".watch")),
    (".help .detach", Help(".detach")),
    (".probes", Probes()),
    ("  .detach 12  ", Detach(12)),
    (".maps", Maps()),
    (".print @opens", Print("@opens")),
    (".print @", Print("@")),
    (".watch @opens", Watch(("@opens",), 1.0)),
    (".watch @opens 500ms", Watch(("@opens",), 0.5)),
    (".watch @x 2m", Watch(("@x",), 120.0)),
    (".watch @x 3", Watch(("@x",), 3.0)),
    (".clear @opens", Clear("@opens")),
    (".save session.bt", Save("session.bt")),
    (".load /tmp/a.bt", Load("/tmp/a.bt")),
    (".quit", Quit()),
    (".serve 9100", Serve(("0.0.0.0", 9100))),
    (".serve 127.0.0.1:0", Serve(("127.0.0.1", 0))),
    (".serve [::1]:9100", Serve(("::1", 9100))),
    (".serve off", Serve(None)),
])
def test_parses(line: str, expected: meta.MetaCommand) -> None:
    assert meta.parse_meta(line) == expected


@pytest.mark.parametrize(("line", "fragment"), [
    (".frobnicate", "unknown command '.frobnicate'"),
    (".wat @x", "did you mean .watch?"),
    (".detach", "usage: .detach ID"),
    (".detach one", "'one' is not a probe id"),
    (".detach 1 2", "usage: .detach ID"),
    (".print opens", "'opens' is not a map name"),
    (".watch @x soon", "invalid interval 'soon'"),
    (".watch @x 1ms", "too short"),
    (".quit now", "usage: .quit"),
    (".save", "usage: .save FILE"),
    (".help nothing", "unknown command 'nothing'"),
    (".serve", "usage: .serve [HOST:]PORT|off"),
    (".serve host:port", "invalid address 'host:port'"),
    (".serve 1 2", "usage: .serve"),
    ("probes", "not a meta command"),
    ("", "not a meta command"),
])
def test_errors_are_one_line(line: str, fragment: str) -> None:
    with pytest.raises(MetaError) as info:
        meta.parse_meta(line)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_help_lists_every_command_with_its_summary() -> None:
    text = meta.help_text()
    for info in COMMANDS.values():
        assert info.usage in text and info.summary in text
    assert meta.help_text("watch").startswith(".watch [@MAP ...] [INTERVAL]")


def test_every_command_has_a_parser_and_help() -> None:
    for name, info in COMMANDS.items():
        assert info.summary and info.usage.startswith(name)
        if name in (".help", ".probes", ".maps", ".quit", ".watch", ".top"):
            assert type(meta.parse_meta(name)).__name__.lower() == name[1:]
        else:
            with pytest.raises(MetaError, match="usage: "):
                meta.parse_meta(name)


def test_is_meta_and_bare_map() -> None:
    assert meta.is_meta("  .probes")
    assert not meta.is_meta("BEGIN { }")
    assert meta.bare_map(" @opens ") == "@opens"
    assert meta.bare_map("@opens;") == "@opens"
    assert meta.bare_map("@opens = 1") is None
    assert meta.bare_map("BEGIN") is None
