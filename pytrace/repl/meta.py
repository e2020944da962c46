"""Parsing of the REPL's meta commands (`.help`, `.detach 2`, `.watch @m 1s` …) into data.

Pure: no session, no I/O. A malformed command raises MetaError with a one-line message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


class MetaError(Exception):
    """A meta command that cannot be parsed; str(e) is the one-line message to show."""


@dataclass(frozen=True)
class Help:
    topic: str | None = None


@dataclass(frozen=True)
class Probes:
    pass


@dataclass(frozen=True)
class Detach:
    probe_id: int


@dataclass(frozen=True)
class Maps:
    pass


@dataclass(frozen=True)
class Print:
    map_name: str


@dataclass(frozen=True)
class Watch:
    map_name: str
    interval: float = 1.0


@dataclass(frozen=True)
class Clear:
    map_name: str


@dataclass(frozen=True)
class Save:
    path: str


@dataclass(frozen=True)
class Load:
    path: str


@dataclass(frozen=True)
class Quit:
    pass


@dataclass(frozen=True)
class Serve:
    """`.serve [HOST:]PORT` (host, port) or `.serve off` (None)."""

    address: tuple[str, int] | None


MetaCommand = Help | Probes | Detach | Maps | Print | Watch | Clear | Save | Load | Quit | Serve
_Parser = Callable[["CommandInfo", list[str]], MetaCommand]


@dataclass(frozen=True)
class CommandInfo:
    """How a command is written and what it does (for `.help` and completion)."""

    name: str
    usage: str
    summary: str


COMMANDS: dict[str, CommandInfo] = {c.name: c for c in (
    CommandInfo(".help", ".help [COMMAND]", "show the meta commands, or one command's help"),
    CommandInfo(".probes", ".probes", "list live probes with their ids and event counts"),
    CommandInfo(".detach", ".detach ID", "detach probe ID (its maps keep their contents)"),
    CommandInfo(".maps", ".maps", "list the session's maps with their types"),
    CommandInfo(".print", ".print @MAP", "print a map now (typing @MAP alone does the same)"),
    CommandInfo(".watch", ".watch @MAP [INTERVAL]",
                "show a map refreshing every INTERVAL (default 1s) until Ctrl-C"),
    CommandInfo(".clear", ".clear @MAP", "delete every entry of a map"),
    CommandInfo(".save", ".save FILE", "write every entry typed so far as a runnable script"),
    CommandInfo(".load", ".load FILE", "run a script's probes in this session"),
    CommandInfo(".quit", ".quit", "run END blocks, print the maps, detach all, exit (Ctrl-D)"),
    CommandInfo(".serve", ".serve [HOST:]PORT|off",
                "serve every map as Prometheus metrics on http://HOST:PORT/metrics"),
)}

_MAP = re.compile(r"@\w*")
_BARE_MAP = re.compile(r"\s*(@\w*)\s*;?\s*")
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|s|m)?")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}


def is_meta(text: str) -> bool:
    """True when the entry is a meta command (its first non-blank character is `.`)."""
    return text.lstrip().startswith(".")


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


def _watch(info: CommandInfo, args: list[str]) -> MetaCommand:
    _arity(info, args, 1, 2)
    interval = parse_duration(args[1]) if len(args) == 2 else 1.0
    return Watch(_map_arg(info, args[0]), interval)


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
    ".clear": _one_map(Clear),
    ".save": _path(Save),
    ".load": _path(Load),
    ".quit": _no_args(Quit),
    ".serve": _serve,
}
