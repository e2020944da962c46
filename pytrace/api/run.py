"""`pytrace.run`: run a program to its end and return what it produced."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import field

from pytrace.api.program import Program
from pytrace.api.session import trace
from pytrace.frozen import frozen

__all__ = ["Result", "run"]


@frozen
class Result:
    """What a finished program produced.

    exit_code: exit()'s code (0 otherwise). maps: every user map's final entries as a
    plain dict (keys and values as MapView gives them). output: the text bpftrace would
    print on stdout (the records, then the maps at exit).
    """

    exit_code: int
    maps: dict[str, dict[object, object]] = field(default_factory=dict)
    output: str = ""


def run(source: str | Program, duration: float | None = None, *, pid: int | None = None,
        cmd: str | Sequence[str] | None = None, params: Sequence[str] = (),
        unsafe: bool = False) -> Result:
    """Compile and run a program until exit(), `duration` seconds, the end of `cmd` or
    Ctrl-C; the options are trace()'s. Releases everything before it returns."""
    out = io.StringIO()
    with trace(source, pid=pid, cmd=cmd, params=params, unsafe=unsafe, output=out,
               max_events=0) as session:
        code = session.run(duration)
        maps = {name: view.to_dict() for name, view in session.maps.items()}
    return Result(code, maps, out.getvalue())
