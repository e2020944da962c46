"""The output interface the session loop talks to, and its text and JSON implementations.

`make_output(fmt, stream, err, quiet)` returns an `Output`; the session calls one method
per event (attached, printf, value, map, lost, …). Nothing here flushes on its own except
`flush()`: the caller decides the buffering (line-buffered on a terminal).
"""

from __future__ import annotations

import os
from typing import Protocol, TextIO

from pytrace.output import json as jsonout
from pytrace.output import reports
from pytrace.output import text as textout
from pytrace.resources import SourceLoc
from pytrace.types import Type
from pytrace.values import MapSnapshot

__all__ = ["Output", "TextOutput", "JsonOutput", "make_output", "NOTIFY_ENV"]

NOTIFY_ENV = "__BPFTRACE_NOTIFY_PROBES_ATTACHED"


class Output(Protocol):
    def attached(self, n: int) -> None: ...
    def printf(self, text: str) -> None: ...
    def value(self, v: object, t: Type | None = None) -> None: ...
    def map(self, snap: MapSnapshot, top: int = 0, div: int = 1) -> None: ...
    def maps_at_exit(self, snaps: list[MapSnapshot]) -> None: ...
    def lost(self, n: int) -> None: ...
    def warning(self, msg: str) -> None: ...
    def time(self, text: str) -> None: ...
    def cat(self, text: str) -> None: ...
    def join(self, text: str) -> None: ...
    def syscall(self, text: str) -> None: ...
    def error(self, msg: str) -> None: ...
    def located(self, kind: str, loc: SourceLoc, msg: str,
                extra: dict[str, object] | None = None) -> None: ...
    def bench(self, results: list[tuple[str, int]]) -> None: ...
    def test_result(self, result: reports.Outcome) -> None: ...
    def test_summary(self, results: list[reports.Outcome]) -> None: ...
    def flush(self) -> None: ...


def _non_empty_by_name(snaps: list[MapSnapshot]) -> list[MapSnapshot]:
    return sorted((s for s in snaps if s.entries), key=lambda s: s.name)


def _warn(stream: TextIO, err: TextIO, msg: str) -> None:
    """A runtime warning with no source location: `WARNING: msg` on stderr, in every format."""
    stream.flush()
    err.write(f"WARNING: {msg}\n")
    err.flush()


class TextOutput:
    """bpftrace-exact text: data to `stream`, "Attached N probes" to `err`."""

    # printf(a + b) shows what printf(a); printf(b) shows: the dispatcher may hand over
    # the texts of many records in one call (one write of a whole batch)
    printf_joined = True

    def __init__(self, stream: TextIO, err: TextIO, quiet: bool = False) -> None:
        self.stream, self.err, self.quiet = stream, err, quiet

    def attached(self, n: int) -> None:
        if not self.quiet:
            self.err.write(textout.attached_line(n))
            self.err.flush()
        if os.environ.get(NOTIFY_ENV):
            self.stream.write(NOTIFY_ENV + "\n")
            self.stream.flush()

    def printf(self, text: str) -> None:
        self.stream.write(text)

    def printf_many(self, texts: list[str]) -> None:
        """printf of each text (for a stream that must see one write per record)."""
        write = self.stream.write
        for text in texts:
            write(text)

    def value(self, v: object, t: Type | None = None) -> None:
        self.stream.write(textout.format_value(v) + "\n")

    def map(self, snap: MapSnapshot, top: int = 0, div: int = 1) -> None:
        self.stream.write(textout.format_map(snap, top, div))

    def maps_at_exit(self, snaps: list[MapSnapshot]) -> None:
        self.stream.write("\n\n")
        for s in _non_empty_by_name(snaps):
            self.stream.write(textout.format_map(s))

    def lost(self, n: int) -> None:
        self.stream.flush()
        self.err.write(textout.lost_line(n))
        self.err.flush()

    def warning(self, msg: str) -> None:
        _warn(self.stream, self.err, msg)

    def time(self, text: str) -> None:
        self.stream.write(text)

    def cat(self, text: str) -> None:
        self.stream.write(text)

    def join(self, text: str) -> None:
        self.stream.write(text + "\n")

    def syscall(self, text: str) -> None:
        self.stream.write(text)

    def error(self, msg: str) -> None:
        self.stream.flush()
        self.err.write(f"ERROR: {msg}\n")
        self.err.flush()

    def located(self, kind: str, loc: SourceLoc, msg: str,
                extra: dict[str, object] | None = None) -> None:
        """errorf/warnf (the location only) and runtime warnings (with the source line)."""
        self.stream.flush()
        self.err.write(textout.located_message(kind, loc, msg))
        self.err.flush()

    def bench(self, results: list[tuple[str, int]]) -> None:
        self.stream.write("\n\n" + reports.bench_table(results))

    def test_result(self, result: reports.Outcome) -> None:
        self.stream.write(reports.outcome_lines(result))

    def test_summary(self, results: list[reports.Outcome]) -> None:
        self.stream.write(reports.outcomes_summary(results))

    def flush(self) -> None:
        self.stream.flush()
        self.err.flush()


class JsonOutput:
    """NDJSON: every record one line on `stream` (attached_probes too, unless quiet)."""

    def __init__(self, stream: TextIO, err: TextIO, quiet: bool = False) -> None:
        self.stream, self.err, self.quiet = stream, err, quiet

    def attached(self, n: int) -> None:
        if not self.quiet:
            self.stream.write(jsonout.attached_record(n))
        if os.environ.get(NOTIFY_ENV):
            self.stream.write(NOTIFY_ENV + "\n")
        self.stream.flush()

    def printf(self, text: str) -> None:
        self.stream.write(jsonout.text_record("printf", text))

    def printf_many(self, texts: list[str]) -> None:
        """One printf record per text, written at once."""
        self.stream.write(jsonout.text_records("printf", texts))

    def value(self, v: object, t: Type | None = None) -> None:
        self.stream.write(jsonout.value_record(v))

    def map(self, snap: MapSnapshot, top: int = 0, div: int = 1) -> None:
        self.stream.write(jsonout.map_record(snap, top, div))

    def maps_at_exit(self, snaps: list[MapSnapshot]) -> None:
        # No blank separator lines: every line of -f json output is a JSON record.
        for s in _non_empty_by_name(snaps):
            self.stream.write(jsonout.map_record(s))

    def lost(self, n: int) -> None:
        self.stream.write(jsonout.lost_record(n))

    def warning(self, msg: str) -> None:
        _warn(self.stream, self.err, msg)

    def time(self, text: str) -> None:
        self.stream.write(jsonout.text_record("time", text))

    def cat(self, text: str) -> None:
        self.stream.write(jsonout.text_record("cat", text))

    def join(self, text: str) -> None:
        self.stream.write(jsonout.text_record("join", text))

    def syscall(self, text: str) -> None:
        self.stream.write(jsonout.text_record("syscall", text))

    def error(self, msg: str) -> None:
        self.stream.flush()
        self.err.write(f"ERROR: {msg}\n")
        self.err.flush()

    def located(self, kind: str, loc: SourceLoc, msg: str,
                extra: dict[str, object] | None = None) -> None:
        if kind == "helper_error" and extra and isinstance(extra.get("retcode"), int):
            msg = os.strerror(-int(extra["retcode"]))  # type: ignore[call-overload]
        self.stream.write(jsonout.error_record(kind, msg, loc.filename, loc.line, loc.col,
                                               **(extra or {})))

    def bench(self, results: list[tuple[str, int]]) -> None:
        self.stream.write(reports.bench_record(results))

    def test_result(self, result: reports.Outcome) -> None:
        self.stream.write(reports.outcome_record(result))

    def test_summary(self, results: list[reports.Outcome]) -> None:
        pass  # every test has its own record

    def flush(self) -> None:
        self.stream.flush()
        self.err.flush()


def make_output(fmt: str, stream: TextIO, err: TextIO, quiet: bool = False) -> Output:
    """'text', 'json' or 'rich' (terminal only; anything else raises ValueError with a one-line message)."""
    if fmt == "text":
        return TextOutput(stream, err, quiet)
    if fmt == "json":
        return JsonOutput(stream, err, quiet)
    if fmt == "rich":
        from pytrace.output.rich import RichOutput  # rich is imported only when used

        return RichOutput(stream, err, quiet)
    raise ValueError(f"Invalid output format \"{fmt}\"\nValid formats: 'text', 'json'")
