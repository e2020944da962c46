"""Completion for the REPL, as you type and on Tab: probe kinds, tracepoints, uprobe
symbols, `args.` fields, struct members, builtins (with their signatures), keywords,
map names (everywhere, `@` included), scratch variables and meta-command arguments.

`complete(text, cursor, ctx)` is the pure core (tested directly) returning
`Suggestion`s; `suggestions()` is its list of texts; `ReplCompleter` adapts it to
prompt_toolkit (file names after `.save`/`.load` come from prompt_toolkit's
PathCompleter). Never raises: odd input just yields fewer suggestions. Nothing heavy is
imported until the first completion.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NamedTuple

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from pytrace.repl.commands import COMMANDS

_MAP_COMMANDS = (".print", ".watch", ".clear", ".top")
_PATH_COMMANDS = (".save", ".load")
_ENTRY_COMMANDS = (".detach", ".edit")
_ATTACH_WORD = re.compile(r'[^\s,{}]*$')
_CODE_WORD = re.compile(r'[@$]?\w*$')
_UPROBE_KINDS = ("uprobe", "u", "uretprobe", "ur")
_TRACEPOINT_KINDS = ("tracepoint", "t", "rawtracepoint", "rt")
_INTERVALS = ("500ms", "1s", "2s", "5s")
TOP_LEVEL_KEYWORDS = frozenset({"config", "import", "macro"})  # before the probes only
# What may start a top-level item besides a probe, and the map types of a declaration.
TOP_KEYWORDS = ("config", "import", "macro", "let", "begin", "end")
MAP_TYPES = ("hash(", "lruhash(", "percpuhash(", "percpulruhash(", "percpuarray(")
_MAP_DECL = re.compile(r"(?:^|[;}\s])let\s+@\w*\s*=\s*\w*$")
_CONFIG_OPEN = re.compile(r"config\s*=\s*\{[^}]*$")
MAX_SHOWN = 500


class Suggestion(NamedTuple):
    """One replacement for the word before the cursor; `meta` is shown beside it."""

    text: str
    meta: str = ""


def _none(*_: object) -> tuple[()]:
    return ()


class Context:
    """What completion knows of the session (each source is called when needed):
    maps (names), map_types (name -> types text), entries ((id, live) pairs),
    tracepoints (`cat:event` names), symbols (binary -> function names), args
    (attach points -> `args` fields), members (C type -> members), defined (the text of
    earlier entries, for their struct definitions); typing: as you type (no menu for an
    empty word). A plain class: this module loads before the prompt."""

    def __init__(self, maps: Callable[[], Iterable[str]] = _none,
                 map_types: Callable[[str], str] = lambda name: "",
                 entries: Callable[[], Sequence[tuple[int, bool]]] = _none,
                 tracepoints: Callable[[], Sequence[str]] | None = None,
                 symbols: Callable[[str], Sequence[str]] | None = None,
                 args: Callable[[Sequence[str]], dict[str, str]] | None = None,
                 members: Callable[[str], dict[str, str]] | None = None,
                 typing: bool = False, defined: Callable[[], str] = lambda: "") -> None:
        self.maps, self.map_types, self.entries = maps, map_types, entries
        self.tracepoints, self.symbols = tracepoints, symbols
        self.args, self.members, self.typing = args, members, typing
        self.defined = defined  # the session's earlier entries (their C definitions)


@functools.lru_cache(maxsize=1)
def _all_tracepoints() -> tuple[str, ...]:
    """`category:event` for every tracepoint (read once from tracefs; empty if none)."""
    try:
        from pytrace.probes.tracepoint import all_tracepoints
        return all_tracepoints()
    except Exception:  # noqa: BLE001 - completion must never fail
        return ()


@functools.lru_cache(maxsize=8)
def _binary_symbols(path: str) -> tuple[str, ...]:
    try:
        from pytrace.probes.uprobe import elf_symbols, resolve_path
        return tuple(sorted(elf_symbols(resolve_path(path))))
    except Exception:  # noqa: BLE001 - unreadable or missing binaries complete nothing
        return ()


@functools.lru_cache(maxsize=1)
def _builtins() -> dict[str, str]:
    """Builtin name -> `signature  summary` (from the builtins registry)."""
    from pytrace.builtins import REGISTRY
    from pytrace.builtins.signatures import signature, summary

    return {n: f"{signature(b)}  {summary(b)}".rstrip() for n, b in REGISTRY.items()}


@functools.lru_cache(maxsize=1)
def _keywords() -> tuple[str, ...]:
    from pytrace.repl.lexer import grammar_keywords

    return tuple(sorted(set(grammar_keywords().values())))


@functools.lru_cache(maxsize=1)
def _probe_kinds() -> tuple[str, ...]:
    from pytrace.probes import KINDS

    return tuple(s + ":" for k in KINDS for s in k.spellings if k.name not in ("BEGIN", "END"))


def current_word(text: str, cursor: int) -> str:
    """The word being completed just before the cursor (what a suggestion replaces)."""
    from pytrace.repl import scan

    before = text[:max(0, min(cursor, len(text)))]
    if before.lstrip().startswith(".") or not scan.in_code(before):
        m = _ATTACH_WORD.search(before)
        word = m.group() if m else ""
        return word[word.rfind("@"):] if "@" in word else word
    m = _CODE_WORD.search(before)
    return m.group() if m else ""


def suggestions(text: str, cursor: int, maps: Iterable[str],
                tracepoints: Sequence[str] | None = None,
                symbols: Callable[[str], Sequence[str]] | None = None,
                **ctx: object) -> list[str]:
    """Sorted replacement texts for `current_word(text, cursor)` (see `complete`)."""
    names = list(maps)
    c = Context(maps=lambda: names, symbols=symbols,
                tracepoints=(lambda: tracepoints) if tracepoints is not None else None)
    for k, v in ctx.items():
        setattr(c, k, v)
    return [s.text for s in complete(text, cursor, c)]


def complete(text: str, cursor: int, ctx: Context) -> list[Suggestion]:
    """Sorted suggestions for the word before the cursor."""
    from pytrace.repl import scan

    before = text[:max(0, min(cursor, len(text)))]
    word = current_word(text, cursor)
    if before.lstrip().startswith("."):
        found = _meta_candidates(before.lstrip(), ctx)
    elif _MAP_DECL.search(before):
        found = [Suggestion(t, "map type") for t in MAP_TYPES]
    elif _CONFIG_OPEN.search(scan.blank_out(before)):
        from pytrace.config import CONFIG_VARS

        found = [Suggestion(v, "config") for v in CONFIG_VARS]
    elif word.startswith("@"):
        found = _map_candidates(text, ctx)
    elif scan.in_code(before):
        found = _code_candidates(text, before, word, ctx)
    else:
        if ctx.typing and not word:
            return []
        tps = _all_tracepoints() if ctx.tracepoints is None else ctx.tracepoints()
        found = _attach_candidates(word, tps, ctx.symbols or _binary_symbols)
    best: dict[str, str] = {}
    for s in found:
        if s.text.startswith(word) and s.text != word:
            best.setdefault(s.text, s.meta)
    return [Suggestion(t, best[t]) for t in sorted(best)]


def _map_candidates(text: str, ctx: Context) -> list[Suggestion]:
    from pytrace.repl import scan

    names = {m if m.startswith("@") else "@" + m for m in ctx.maps()}
    typed = scan.typed_maps(text) - names
    return ([Suggestion(n, ctx.map_types(n)) for n in names]
            + [Suggestion(n, "in this entry") for n in typed])


def _meta_candidates(line: str, ctx: Context) -> list[Suggestion]:
    words = line.split()
    if len(words) <= 1 and not line.endswith((" ", "\t")):
        return [Suggestion(c.name, c.summary) for c in COMMANDS.values()]
    cmd = words[0]
    args = words[1:] if line.endswith((" ", "\t")) else words[1:-1]
    maps = [s for s in _map_candidates("", ctx) if s.text not in args]
    if cmd in (".print", ".clear") and not args:
        return maps
    if cmd == ".watch":
        return maps + ([Suggestion(i, "refresh interval") for i in _INTERVALS] if args else [])
    if cmd == ".top":
        return maps + [Suggestion(n, "rows") for n in ("10", "20")] + \
            [Suggestion(i, "refresh interval") for i in _INTERVALS]
    if cmd == ".help" and not args:
        return [Suggestion(c, COMMANDS[c].summary) for c in COMMANDS] + \
            [Suggestion(c[1:], COMMANDS[c].summary) for c in COMMANDS]
    if cmd in _ENTRY_COMMANDS and not args:
        live_only = cmd == ".detach"
        return [Suggestion(str(i), "attached" if live else "detached")
                for i, live in ctx.entries() if live or not live_only]
    if cmd == ".serve" and not args:
        return [Suggestion("off", "stop serving")]
    return []


def _code_candidates(text: str, before: str, word: str, ctx: Context) -> list[Suggestion]:
    from pytrace.repl import scan

    access = scan.access_before(before)
    if access is not None:
        return _member_candidates(text, before, access[0], ctx)
    if word.startswith("$"):
        return [Suggestion(v, "variable") for v in scan.typed_vars(text)]
    if ctx.typing and not word:
        return []
    keywords = [Suggestion(k, "keyword") for k in _keywords() if k not in TOP_LEVEL_KEYWORDS]
    maps = _map_candidates(text, ctx) if not word else []  # Tab on nothing: maps too
    return [Suggestion(n, m) for n, m in _builtins().items()] + keywords + maps


def _member_candidates(text: str, before: str, expr: str, ctx: Context) -> list[Suggestion]:
    from pytrace.repl import scan
    from pytrace.repl.fields import Fields, args_fields, btf_members

    fields = Fields(scan.block_attach_points(before), text, ctx.args or args_fields,
                    ctx.members or btf_members, ctx.defined())
    return [Suggestion(n, t) for n, t in fields.after(expr).items()]


def _attach_candidates(word: str, tracepoints: Sequence[str],
                       symbols: Callable[[str], Sequence[str]]) -> list[Suggestion]:
    head, sep, rest = word.partition(":")
    if not sep:
        top = [Suggestion(k, "keyword") for k in TOP_KEYWORDS]
        return [Suggestion(k, "probe") for k in ("BEGIN", "END", *_probe_kinds())] + top
    if head in _TRACEPOINT_KINDS:
        category, sep2, _ = rest.partition(":")
        if not sep2:
            cats = {t.split(":", 1)[0] for t in tracepoints}
            return [Suggestion(f"{head}:{c}:", "category") for c in cats]
        return [Suggestion(f"{head}:{t}") for t in tracepoints if t.startswith(category + ":")]
    if head in _UPROBE_KINDS and rest.count(":") == 1:
        path = rest.split(":", 1)[0]
        return [Suggestion(f"{head}:{path}:{s}") for s in symbols(path)] if path else []
    return []


def path_argument(text: str, cursor: int) -> str | None:
    """The partial file name when the cursor is in `.save F` / `.load F`, else None."""
    words = text[:cursor].lstrip().split()
    if not words or words[0] not in _PATH_COMMANDS:
        return None
    if len(words) == 1:
        return "" if text[:cursor].endswith((" ", "\t")) else None
    return words[1] if len(words) == 2 and not text[:cursor].endswith((" ", "\t")) else None


def as_context(source: Callable[[], Context] | Callable[[], Iterable[str]]
               ) -> Callable[[], Context]:
    """A Context source from either a Context callable or a map-names callable."""
    def context() -> Context:
        got = source()
        if isinstance(got, Context):
            return got
        names = list(got)
        return Context(maps=lambda: names)
    return context


class ReplCompleter(Completer):
    """prompt_toolkit adapter over `complete`; `context()` gives the live sources (or
    just the map names)."""

    def __init__(self, context: Callable[[], Context] | Callable[[], Iterable[str]]) -> None:
        self._context = as_context(context)
        self._paths = PathCompleter(expanduser=True)

    def get_completions(self, document: Document,
                        complete_event: CompleteEvent) -> Iterator[Completion]:
        text, cursor = document.text, document.cursor_position
        try:
            path = path_argument(text, cursor)
            if path is not None:
                yield from self._paths.get_completions(Document(path, len(path)), complete_event)
                return
            ctx = self._context()
            ctx.typing = not complete_event.completion_requested
            word = current_word(text, cursor)
            found = complete(text, cursor, ctx)
        except Exception:  # noqa: BLE001 - a completion bug must not end the session
            return
        for s in found[:MAX_SHOWN]:
            yield Completion(s.text, start_position=-len(word), display_meta=s.meta)
