"""Tests for pytrace.output.rich: the text format's lines with colour, each map written
at once, and a forced terminal for streams that only stand for one (the REPL's)."""

from __future__ import annotations

import io
import re

import pytest

from pytrace.output.rich import RichOutput
from pytrace.types import AggT
from pytrace.values import Bucket, Histogram, MapEntry, MapSnapshot

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Recorder(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, s: str) -> int:
        self.writes.append(s)
        return super().write(s)


def _maps() -> list[MapSnapshot]:
    h = Histogram((Bucket(3, 2, 3, 2), Bucket(4, 4, 7, 1)))
    return [MapSnapshot("@c", AggT("count"), [MapEntry(("bash",), 5), MapEntry(("python",), 12)]),
            MapSnapshot("@h", AggT("hist"), [MapEntry(None, h)])]


def test_a_map_is_one_write_coloured_on_a_forced_terminal(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = Recorder()
    sink = RichOutput(out, io.StringIO(), force_terminal=True)
    for m in _maps():
        sink.map(m)
    writes = [w for w in out.writes if w]
    assert len(writes) == 2  # one per map: never interleaved with other output
    assert all("\x1b[" in w for w in writes)
    plain = ANSI.sub("", out.getvalue())
    assert plain.splitlines()[:2] == ["@c[bash]:    5", "@c[python]: 12"]
    assert "[2, 4)                 2 |" in plain and plain.endswith("|\n\n")


def test_not_a_terminal_means_no_escapes() -> None:
    out = Recorder()
    RichOutput(out, io.StringIO()).map(_maps()[0])
    assert "\x1b" not in out.getvalue()
