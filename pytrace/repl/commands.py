"""The REPL's meta commands as people see them: name, usage and summary (for `.help`,
completion and the toolbar), and what counts as a meta command. Light on purpose: it is
imported before the prompt appears; the parsing lives in meta.py.
"""

from __future__ import annotations

from typing import NamedTuple


class CommandInfo(NamedTuple):
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
    CommandInfo(".watch", ".watch [@MAP ...] [INTERVAL]",
                "show maps (default: all) live, refreshed every INTERVAL (1s), until Ctrl-C"),
    CommandInfo(".top", ".top [N] [@MAP ...] [INTERVAL]",
                "a live table of the N (10) largest keys with rates per second"),
    CommandInfo(".edit", ".edit ID",
                "change probe ID in $EDITOR and replace it live (its maps are kept)"),
    CommandInfo(".clear", ".clear @MAP", "delete every entry of a map"),
    CommandInfo(".save", ".save FILE", "write every entry typed so far as a runnable script"),
    CommandInfo(".load", ".load FILE", "run a script's probes in this session"),
    CommandInfo(".quit", ".quit", "run END blocks, print the maps, detach all, exit (Ctrl-D)"),
    CommandInfo(".serve", ".serve [HOST:]PORT|off",
                "serve every map as Prometheus metrics on http://HOST:PORT/metrics"),
)}


def is_meta(text: str) -> bool:
    """True when the entry is a meta command (its first non-blank character is `.`)."""
    return text.lstrip().startswith(".")
