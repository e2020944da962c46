"""Tab completion for the REPL: probe kinds, tracepoints, uprobe symbols, builtins, maps,
meta commands.

`suggestions(text, cursor, maps)` is the pure core (tested directly); `ReplCompleter`
adapts it to prompt_toolkit. Never raises: odd input just yields fewer suggestions.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from pytrace.builtins import REGISTRY
from pytrace.probes import KINDS
from pytrace.probes.tracepoint import list_probes
from pytrace.repl.meta import COMMANDS

KEYWORDS = ("if", "else", "while", "for", "unroll", "let", "return", "break", "continue",
            "sizeof", "offsetof", "true", "false")
# What may start a top-level item besides a probe, and the map types of a declaration.
TOP_KEYWORDS = ("config", "import", "macro", "let", "begin", "end")
MAP_TYPES = ("hash(", "lruhash(", "percpuhash(", "percpulruhash(", "percpuarray(")
_MAP_DECL = re.compile(r"(?:^|[;}\s])let\s+@\w*\s*=\s*\w*$")
_CONFIG_OPEN = re.compile(r"config\s*=\s*\{[^}]*$")
_MAP_COMMANDS = (".print", ".watch", ".clear")
_ATTACH_WORD = re.compile(r'[^\s,{}]*$')
_CODE_WORD = re.compile(r'[@$]?\w*$')
_STRINGS_COMMENTS = re.compile(r'"(?:[^"\\\n]|\\.)*"?|//[^\n]*|/\*(?:[^*]|\*(?!/))*(?:\*/)?')
_UPROBE_KINDS = ("uprobe", "u", "uretprobe", "ur")
_TRACEPOINT_KINDS = ("tracepoint", "t", "rawtracepoint", "rt")


@functools.lru_cache(maxsize=1)
def _all_tracepoints() -> tuple[str, ...]:
    """`category:event` for every tracepoint (read once from tracefs; empty if none)."""
    try:
        return tuple(n.split(":", 1)[1] for n in list_probes("*:*"))
    except Exception:  # noqa: BLE001 - completion must never fail
        return ()


@functools.lru_cache(maxsize=8)
def _binary_symbols(path: str) -> tuple[str, ...]:
    try:
        from pytrace.probes.uprobe import elf_symbols, resolve_path
        return tuple(sorted(elf_symbols(resolve_path(path))))
    except Exception:  # noqa: BLE001 - unreadable or missing binaries complete nothing
        return ()


def current_word(text: str, cursor: int) -> str:
    """The word being completed just before the cursor (what a suggestion replaces)."""
    before = text[:max(0, min(cursor, len(text)))]
    if before.lstrip().startswith(".") or not _in_code(before):
        m = _ATTACH_WORD.search(before)
    else:
        m = _CODE_WORD.search(before)
    return m.group() if m else ""


def suggestions(text: str, cursor: int, maps: Iterable[str],
                tracepoints: Sequence[str] | None = None,
                symbols: Callable[[str], Sequence[str]] | None = None) -> list[str]:
    """Sorted replacements for `current_word(text, cursor)`.

    maps: the session's map names (`@x` or `x`). tracepoints: `category:event` names
    (default: read from tracefs). symbols: path -> function names (default: ELF symtab).
    """
    before = text[:max(0, min(cursor, len(text)))]
    word = current_word(text, cursor)
    map_names = sorted({m if m.startswith("@") else "@" + m for m in maps})
    if before.lstrip().startswith("."):
        candidates = _meta_candidates(before.lstrip(), map_names)
    elif _MAP_DECL.search(before):
        candidates = list(MAP_TYPES)
    elif _CONFIG_OPEN.search(_STRINGS_COMMENTS.sub(" ", before)):
        from pytrace.config import CONFIG_VARS

        candidates = list(CONFIG_VARS)
    elif _in_code(before):
        candidates = _code_candidates(word, map_names)
    else:
        tps = _all_tracepoints() if tracepoints is None else tracepoints
        candidates = _attach_candidates(word, tps, symbols or _binary_symbols)
    return sorted({c for c in candidates if c.startswith(word) and c != word})


def _in_code(before: str) -> bool:
    """True inside a probe's braces or predicate (outside them come attach points)."""
    code = _STRINGS_COMMENTS.sub(" ", before)
    depth = 0
    for ch in code:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        depth = max(depth, 0)
    if depth:
        return True
    top = code[code.rfind("}") + 1:]
    return bool(re.search(r"(?:^|\s)/", top))


def _meta_candidates(line: str, map_names: list[str]) -> list[str]:
    words = line.split()
    if len(words) <= 1 and not line.endswith((" ", "\t")):
        return list(COMMANDS)
    cmd, nargs = words[0], len(words) - (0 if line.endswith((" ", "\t")) else 1) - 1
    if cmd in _MAP_COMMANDS and nargs == 0:
        return map_names
    if cmd == ".help" and nargs == 0:
        return [c[1:] for c in COMMANDS] + list(COMMANDS)
    if cmd == ".watch" and nargs == 1:
        return ["500ms", "1s", "2s", "5s"]
    return []


def _code_candidates(word: str, map_names: list[str]) -> list[str]:
    if word.startswith("@"):
        return map_names
    if word.startswith("$"):
        return []
    return [*REGISTRY, *KEYWORDS]


def _attach_candidates(word: str, tracepoints: Sequence[str],
                       symbols: Callable[[str], Sequence[str]]) -> list[str]:
    head, sep, rest = word.partition(":")
    if not sep:
        kinds = [s + ":" for k in KINDS for s in k.spellings if k.name not in ("BEGIN", "END")]
        return ["BEGIN", "END", *TOP_KEYWORDS, *kinds]
    if head in _TRACEPOINT_KINDS:
        category, sep2, _ = rest.partition(":")
        if not sep2:
            return [f"{head}:{c}:" for c in {t.split(":", 1)[0] for t in tracepoints}]
        return [f"{head}:{t}" for t in tracepoints if t.startswith(category + ":")]
    if head in _UPROBE_KINDS and rest.count(":") == 1:
        path = rest.split(":", 1)[0]
        return [f"{head}:{path}:{s}" for s in symbols(path)] if path else []
    return []


class ReplCompleter(Completer):
    """prompt_toolkit adapter; `maps` is called on each completion for the live names."""

    def __init__(self, maps: Callable[[], Iterable[str]]) -> None:
        self._maps = maps

    def get_completions(self, document: Document,
                        complete_event: CompleteEvent) -> Iterator[Completion]:
        text, cursor = document.text, document.cursor_position
        try:
            word = current_word(text, cursor)
            found = suggestions(text, cursor, self._maps())
        except Exception:  # noqa: BLE001 - a completion bug must not end the session
            return
        for s in found[:500]:
            yield Completion(s, start_position=-len(word))
