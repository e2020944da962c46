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


def s(text: str, maps: Sequence[str] = (), **ctx: object) -> list[str]:
    return suggestions(text, len(text), maps, tracepoints=TPS, symbols=_symbols, **ctx)


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
    assert s("k:f { co") == sorted(n for n in (*REGISTRY, "comptime", "continue") if n.startswith("co"))
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
                             ".top", ".edit", ".clear", ".save", ".load", ".quit", ".serve"])
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


def test_maps_complete_everywhere_including_the_anonymous_map() -> None:
    maps = ["@", "@opens", "@other"]
    assert s("@o", maps) == ["@opens", "@other"]  # at the start of a line
    assert s("@", maps) == ["@opens", "@other"]  # `@` itself is typed already
    assert "@" in s(".print ", maps)
    assert s("BEGIN { @new = 1; @n", maps) == ["@new"]  # maps of the entry being typed
    assert s("BEGIN { $a = 1; $b = 2; $", maps) == ["$a", "$b"]


def test_args_fields_and_members_after_an_access() -> None:
    def args(points: Sequence[str]) -> dict[str, str]:
        return {"filename": "const char *", "flags": "int"} if points == ["t:x:y"] else {}

    def members(ctype: str) -> dict[str, str]:
        return {"pid": "pid_t", "tgid": "pid_t"} if "task_struct" in ctype else {}

    assert s("t:x:y { printf(\"%s\", str(args.", [], args=args) == ["filename", "flags"]
    assert s("t:x:y { @[args.fi", [], args=args) == ["filename"]
    assert s("t:x:y /args.fl", [], args=args) == ["flags"]
    assert s("BEGIN { @ = curtask->", [], members=members) == ["pid", "tgid"]
    assert s("BEGIN { @ = curtask->tg", [], members=members) == ["tgid"]
    assert s("BEGIN { @ = nothing.", [], members=members) == []  # never builtins here


def test_as_you_type_offers_nothing_for_an_empty_word() -> None:
    assert s("BEGIN { @x = ", typing=True) == []
    assert s("", typing=True) == []
    assert "count" in s("BEGIN { @x = cou", typing=True)
    assert {"count", "if", "@", "@x"} <= set(s("BEGIN { @ = 1; @x = ", ["@"]))  # Tab: all


def test_meta_command_arguments() -> None:
    entries = [(1, True), (2, False), (3, True)]
    assert s(".detach ", entries=lambda: entries) == ["1", "3"]  # attached ones only
    assert s(".edit ", entries=lambda: entries) == ["1", "2", "3"]
    assert s(".top ", ["@a"]) == ["10", "1s", "20", "2s", "500ms", "5s", "@a"]
    assert s(".watch @a @", ["@a", "@b"]) == ["@b"]  # a map already named is not offered
    assert s(".serve o") == ["off"]
    assert "config" in s("con") and "config" not in s("BEGIN { con")  # top-level keyword


def test_file_names_after_save_and_load(tmp_path: object) -> None:
    from pathlib import Path

    d = Path(str(tmp_path))
    (d / "script.bt").write_text("BEGIN { }\n")
    text = f".load {d}/scr"
    found = list(ReplCompleter(lambda: []).get_completions(
        Document(text, len(text)), CompleteEvent(completion_requested=True)))
    assert [c.text for c in found] == ["ipt.bt"]


def test_menu_shows_signatures_and_types() -> None:
    from pytrace.repl.completer import Context, complete

    ctx = Context(maps=lambda: ["@opens"], map_types=lambda n: "[string[16]]: count")
    hist = [x for x in complete("BEGIN { @h = hi", 15, ctx) if x.text == "hist"][0]
    assert hist.meta.startswith("hist(n[, k])")
    assert complete("BEGIN { @op", 11, ctx)[0].meta == "[string[16]]: count"


def test_top_level_keywords_map_types_and_config_variables() -> None:
    assert "macro" in suggestions("ma", 2, [], tracepoints=[])
    assert suggestions("let @a = per", 12, []) == ["percpuarray(", "percpuhash(",
                                                    "percpulruhash("]
    assert suggestions("config = { missing", 18, []) == ["missing_probes"]
    assert "tseries" in suggestions("begin { @x = tse", 16, [])
    assert {"self:", "test:", "bench:"} <= set(suggestions("", 0, [], tracepoints=[]))
