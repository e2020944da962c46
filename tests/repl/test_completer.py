"""Tests for pytrace.repl.completer: suggestions in each position of an entry."""

from __future__ import annotations

from collections.abc import Sequence

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from pytrace.builtins import REGISTRY
from pytrace.repl.completer import ReplCompleter, current_word, suggestions

TPS = ("syscalls:sys_enter_openat", "syscalls:sys_enter_open", "syscalls:sys_exit_openat",
       "sched:sched_switch")


def _symbols(path: str) -> Sequence[str]:
    return ("readline", "readline_internal", "main") if path == "/bin/bash" else ()


def s(text: str, maps: Sequence[str] = ()) -> list[str]:
    return suggestions(text, len(text), maps, tracepoints=TPS, symbols=_symbols)


def test_probe_kinds_at_the_start() -> None:
    assert s("tr") == ["tracepoint:"]
    assert "uprobe:" in s("u") and "uretprobe:" in s("u") and "usdt:" in s("u")
    assert s("BE") == ["BEGIN"]
    assert "interval:" in s("") and "kprobe:" in s("")


def test_tracepoint_categories_and_names() -> None:
    assert s("t:") == ["t:sched:", "t:syscalls:"]
    assert s("tracepoint:sy") == ["tracepoint:syscalls:"]
    assert s("t:syscalls:sys_enter_op") == ["t:syscalls:sys_enter_open",
                                            "t:syscalls:sys_enter_openat"]
    assert s("BEGIN { } t:sched:") == ["t:sched:sched_switch"]


def test_uprobe_symbols_of_the_typed_binary() -> None:
    assert s("uprobe:/bin/bash:read") == ["uprobe:/bin/bash:readline",
                                          "uprobe:/bin/bash:readline_internal"]
    assert s("ur:/no/such:ma") == []


def test_builtins_functions_and_keywords_inside_a_block() -> None:
    assert s("k:f { co") == sorted(n for n in (*REGISTRY, "continue") if n.startswith("co"))
    assert "printf" in s("BEGIN { pri")
    assert "pid" in s("t:a:b /pi")
    assert s("BEGIN { $x") == []


def test_map_names() -> None:
    maps = ["@opens", "lines", "@other"]
    assert s("BEGIN { @o", maps) == ["@opens", "@other"]
    assert s("BEGIN { @", maps) == ["@lines", "@opens", "@other"]
    assert s(".print @l", maps) == ["@lines"]
    assert s(".watch @", maps) == ["@lines", "@opens", "@other"]
    assert "1s" in s(".watch @opens ", maps)


def test_meta_commands() -> None:
    assert s(".d") == [".detach"]
    assert s(".") == sorted([".help", ".probes", ".detach", ".maps", ".print", ".watch",
                             ".clear", ".save", ".load", ".quit", ".serve"])
    assert "watch" in s(".help ")
    assert s(".quit ") == []


def test_strings_and_comments_do_not_change_the_context() -> None:
    assert "pid" in s('BEGIN { printf("{ }"); pi')
    assert "pid" in s("BEGIN { /* } */ pi")


def test_cursor_in_the_middle() -> None:
    text = "BEGIN { co } "
    assert current_word(text, 10) == "co"
    assert "count" in suggestions(text, 10, [], tracepoints=TPS, symbols=_symbols)


def test_prompt_toolkit_adapter_replaces_the_word() -> None:
    completer = ReplCompleter(lambda: ["@opens"])
    doc = Document("BEGIN { @op", len("BEGIN { @op"))
    found = list(completer.get_completions(doc, CompleteEvent()))
    assert [(c.text, c.start_position) for c in found] == [("@opens", -3)]


def test_top_level_keywords_map_types_and_config_variables() -> None:
    assert "macro" in suggestions("ma", 2, [], tracepoints=[])
    assert suggestions("let @a = per", 12, []) == ["percpuarray(", "percpuhash(",
                                                    "percpulruhash("]
    assert suggestions("config = { missing", 18, []) == ["missing_probes"]
    assert "tseries" in suggestions("begin { @x = tse", 16, [])
    assert {"self:", "test:", "bench:"} <= set(suggestions("", 0, [], tracepoints=[]))
