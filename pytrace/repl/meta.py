"""Parsing of the REPL's meta commands (`.help`, `.detach 2`, `.watch @m 1s` …) into data.

Pure: no session, no I/O. A malformed command raises MetaError with a one-line message.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pytrace.frozen import frozen
from pytrace.repl.commands import COMMANDS, CommandInfo, is_meta

__all__ = ["COMMANDS", "CommandInfo", "MetaError", "is_meta", "parse_meta", "help_text",
           "bare_map", "parse_duration"]


class MetaError(Exception):
    """A meta command that cannot be parsed; str(e) is the one-line message to show."""


@frozen
class Help:
    topic: str | None = None


@frozen
class Probes:
    pass


@frozen
class Detach:
    probe_id: int


@frozen
class Maps:
    pass


@frozen
class Print:
    map_name: str


@frozen
class Watch:
    """`.watch [@MAP ...] [INTERVAL]`: no maps means every map."""

    maps: tuple[str, ...] = ()
    interval: float = 1.0


@frozen
class Top:
    """`.top [N] [@MAP ...] [INTERVAL]`: the N largest keys (no maps: every keyed map)."""

    rows: int = 10
    maps: tuple[str, ...] = ()
    interval: float = 1.0


@frozen
class Edit:
    probe_id: int


@frozen
class Clear:
    map_name: str


@frozen
class Save:
    path: str


@frozen
class Load:
    path: str


@frozen
class Quit:
    pass


@frozen
class Serve:
    """`.serve [HOST:]PORT` (host, port) or `.serve off` (None)."""

    address: tuple[str, int] | None


MetaCommand = (Help | Probes | Detach | Maps | Print | Watch | Top | Edit | Clear | Save | Load
               | Quit | Serve)
_Parser = Callable[["CommandInfo", list[str]], MetaCommand]


_MAP = re.compile(r"@\w*")
_BARE_MAP = re.compile(r"\s*(@\w*)\s*;?\s*")
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|s|m)?")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}


def bare_map(text: str) -> str | None:
    """The map name when the entry is only a map (`@opens`), which prints it."""
    m = _BARE_MAP.fullmatch(text)
    return m.group(1) if m else None


def help_text(topic: str | None = None) -> str:
    """The `.help` text: every command, or one command's usage and summary."""
    if topic is not None:
        info = COMMANDS.get(_dotted(topic))
        if info is None:
            raise MetaError(f"unknown command '{topic}' (try .help)")
        return f"{info.usage}\n    {info.summary}"
    width = max(len(c.usage) for c in COMMANDS.values())
    lines = [f"{c.usage.ljust(width)}  {c.summary}" for c in COMMANDS.values()]
    lines.append("Anything else is a probe block, compiled and attached while the others run.")
    return "\n".join(lines)


def parse_meta(text: str) -> MetaCommand:
    """Parse one meta command line; raises MetaError with a one-line message."""
    words = text.split()
    if not words or not words[0].startswith("."):
        raise MetaError("not a meta command (meta commands start with '.')")
    name, args = words[0], words[1:]
    info = COMMANDS.get(name)
    if info is None:
        raise MetaError(f"unknown command '{name}'{_did_you_mean(name)} (try .help)")
    return _PARSERS[name](info, args)


def parse_duration(text: str) -> float:
    """Seconds in `1s`, `500ms`, `2m` or `3` (seconds); raises MetaError."""
    m = _DURATION.fullmatch(text)
    if m is None:
        raise MetaError(f"invalid interval '{text}' (e.g. 1s, 500ms, 2m)")
    seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds < 0.05:
        raise MetaError(f"interval '{text}' is too short (at least 50ms)")
    return seconds


# ---------------------------------------------------------------- per-command parsers


def _dotted(word: str) -> str:
    return word if word.startswith(".") else "." + word


def _did_you_mean(name: str) -> str:
    hits = [c for c in COMMANDS if c.startswith(name) and name != "."]
    return f"; did you mean {hits[0]}?" if len(hits) == 1 else ""


def _arity(info: CommandInfo, args: list[str], lo: int, hi: int) -> None:
    if not lo <= len(args) <= hi:
        raise MetaError(f"usage: {info.usage}")


def _map_arg(info: CommandInfo, word: str) -> str:
    if not _MAP.fullmatch(word):
        raise MetaError(f"'{word}' is not a map name (maps start with @); usage: {info.usage}")
    return word


def _no_args(cls: Callable[[], MetaCommand]) -> _Parser:
    def parse(info: CommandInfo, args: list[str]) -> MetaCommand:
        _arity(info, args, 0, 0)
        return cls()
    return parse


def _help(info: CommandInfo, args: list[str]) -> MetaCommand:
    _arity(info, args, 0, 1)
    if args:
        help_text(args[0])  # validates the topic
        return Help(_dotted(args[0]))
    return Help()


def _detach(info: CommandInfo, args: list[str]) -> MetaCommand:
    _arity(info, args, 1, 1)
    if not args[0].isdigit():
        raise MetaError(f"'{args[0]}' is not a probe id (see .probes); usage: {info.usage}")
    return Detach(int(args[0]))


def _one_map(cls: Callable[[str], MetaCommand]) -> _Parser:
    def parse(info: CommandInfo, args: list[str]) -> MetaCommand:
        _arity(info, args, 1, 1)
        return cls(_map_arg(info, args[0]))
    return parse


def _live_args(info: CommandInfo, args: list[str], rows: bool
               ) -> tuple[tuple[str, ...], float, int | None]:
    """(maps, interval, rows) from the words of `.watch` / `.top`, in any order."""
    maps: list[str] = []
    interval: float | None = None
    count: int | None = None
    for word in args:
        if word.startswith("@"):
            maps.append(_map_arg(info, word))
        elif rows and word.isdigit() and count is None:
            count = int(word)
            if count < 1:
                raise MetaError(f"'{word}' rows: at least 1; usage: {info.usage}")
        elif interval is None:
            interval = parse_duration(word)
        else:
            raise MetaError(f"usage: {info.usage}")
    return tuple(dict.fromkeys(maps)), interval or 1.0, count


def _watch(info: CommandInfo, args: list[str]) -> MetaCommand:
    maps, interval, _ = _live_args(info, args, rows=False)
    return Watch(maps, interval)


def _top(info: CommandInfo, args: list[str]) -> MetaCommand:
    maps, interval, rows = _live_args(info, args, rows=True)
    return Top(rows or 10, maps, interval)


def _edit(info: CommandInfo, args: list[str]) -> MetaCommand:
    _arity(info, args, 1, 1)
    if not args[0].isdigit():
        raise MetaError(f"'{args[0]}' is not a probe id (see .probes); usage: {info.usage}")
    return Edit(int(args[0]))


def _path(cls: Callable[[str], MetaCommand]) -> _Parser:
    def parse(info: CommandInfo, args: list[str]) -> MetaCommand:
        _arity(info, args, 1, 1)
        return cls(args[0])
    return parse


def _serve(info: CommandInfo, args: list[str]) -> MetaCommand:
    from pytrace.prometheus.address import AddressError, parse_address

    _arity(info, args, 1, 1)
    if args[0] == "off":
        return Serve(None)
    try:
        return Serve(parse_address(args[0]))
    except AddressError as exc:
        raise MetaError(f"{exc}; usage: {info.usage}") from None


_PARSERS: dict[str, _Parser] = {
    ".help": _help,
    ".probes": _no_args(Probes),
    ".detach": _detach,
    ".maps": _no_args(Maps),
    ".print": _one_map(Print),
    ".watch": _watch,
    ".top": _top,
    ".edit": _edit,
    ".clear": _one_map(Clear),
    ".save": _path(Save),
    ".load": _path(Load),
    ".quit": _no_args(Quit),
    ".serve": _serve,
}
