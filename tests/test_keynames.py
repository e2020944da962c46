"""Label names from key expressions (pytrace.keynames), as the maps pass records them
and as codegen hands them to the runtime in MapSpec.key_names."""

from __future__ import annotations

import pytest

from pytrace.parser import parse
from pytrace.passes import check
from pytrace.passes.context import Options
from pytrace.source import Source

TP = "tracepoint:syscalls:sys_enter_openat"


def names(text: str) -> dict[str, tuple[str, ...]]:
    source = Source("stdin", text)
    program, diags = parse(source)
    assert program is not None, [d.message for d in diags]
    cp = check(program, source, Options())
    assert not cp.diagnostics.has_errors, [d.message for d in cp.diagnostics]
    return {name: info.key_names for name, info in cp.maps.items()}


@pytest.mark.parametrize(("key", "expected"), [
    ("comm", ("comm",)),
    ("pid, args.filename", ("pid", "filename")),
    ("probe", ("probe",)),
    ("str(args.filename)", ("filename",)),
    ("args->flags", ("flags",)),
    ("kstack", ("kstack",)),
    ("kstack(3)", ("kstack",)),
    ("ustack(perf)", ("ustack",)),
    ("(uint32)pid", ("pid",)),
    ("$fd", ("fd",)),
    ("pid()", ("pid",)),
    ("pid + 1", ("key0",)),
    ("comm, 5, tid", ("comm", "key1", "tid")),
    ('"lit"', ("key0",)),
    ("pid, pid", ("pid", "pid_1")),
    ("(pid, comm)", ("pid", "comm")),  # a tuple as the key: decoded into its components
    ("(pid, comm), cpu", ("key0", "cpu")),
])
def test_key_names(key: str, expected: tuple[str, ...]) -> None:
    got = names(f"{TP} {{ $fd = 3; @m[{key}] = count(); }}")
    assert got["@m"] == expected


def test_unkeyed_maps_have_no_names() -> None:
    assert names("BEGIN { @x = count(); @ = 1; }") == {"@x": (), "@": ()}


def test_the_first_keyed_access_names_the_map() -> None:
    got = names(f"{TP} {{ @start[tid] = nsecs; }} "
                "tracepoint:syscalls:sys_exit_openat { @lat = hist(nsecs - @start[tid]); "
                "delete(@start[tid]); @by[comm] = count(); @by[str(args.ret)] = count(); }")
    assert got["@start"] == ("tid",)
    assert got["@by"] == ("comm",)


def test_delete_with_a_key_argument_names_a_map_it_declares() -> None:
    got = names("BEGIN { if (has_key(@seen, pid)) { @seen[tid] = 1; } }")
    assert got["@seen"] == ("pid",)


def test_codegen_puts_the_names_in_the_map_specs() -> None:
    from pytrace.driver import check_source, generate

    _ir, obj = generate(check_source(Source("stdin", f"{TP} {{ @x[pid, args.filename] = "
                                            "count(); @h[comm] = hist(1); @ = 1; }"),
                                     Options()))
    specs = {m.name: m.key_names for m in obj.resources.maps}
    assert specs["@x"] == ("pid", "filename")
    assert specs["@h"] == ("comm",)
    assert specs["@"] == ()
    assert specs["__ringbuf"] == ()
