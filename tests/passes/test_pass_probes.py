"""Probe expansion in the passes and the preamble pass."""

from __future__ import annotations

from pytrace.resources import ProgType


def test_one_checked_probe_per_block(checked):
    cp = checked("BEGIN { } t:syscalls:sys_enter_openat, i:s:1 { } END { }")
    assert [len(p.targets) for p in cp.probes] == [1, 2, 1]
    assert [t.name for t in cp.probes[1].targets] == [
        "tracepoint:syscalls:sys_enter_openat", "interval:s:1"]
    assert cp.probes[1].targets[0].prog_type is ProgType.TRACEPOINT
    assert cp.probes[1].targets[0].user_pointers


def test_wildcards(checked):
    cp = checked("t:syscalls:sys_enter_open* { }")
    names = [t.name for t in cp.probes[0].targets]
    assert "tracepoint:syscalls:sys_enter_openat" in names
    assert all(n.startswith("tracepoint:syscalls:sys_enter_open") for n in names)


def test_unknown_tracepoint(errors):
    assert errors("t:syscalls:sys_enter_opnat { }") == [
        ("tracepoint not found: syscalls:sys_enter_opnat", (1, 1, 27))]


def test_kernel_wildcard_matching_nothing_beside_a_match(checked, errors):
    # kprobe:f plus kprobe:f.suffix.* for kernels that rename f: the wildcard may match
    # nothing when another attach point of the probe does; alone it is an error
    cp = checked("kprobe:vfs_read, kprobe:vfs_read.nosuch_pytrace.* { }")
    assert [t.name for t in cp.probes[0].targets] == ["kprobe:vfs_read"]
    assert errors("kprobe:nosuch_pytrace_a*, kretprobe:nosuch_pytrace_b* { }") == [
        ("No kernel function matches kprobe:nosuch_pytrace_a*", (1, 1, 25)),
        ("No kernel function matches kretprobe:nosuch_pytrace_b*", (1, 27, 54))]


def test_several_probe_errors_reported(errors):
    errs = errors("t:nosuch:x, interval:5:s { } profile:xs:1 { }")
    assert [m for m, _ in errs] == ["tracepoint not found: nosuch:x",
                                    "5 is not an accepted unit of time",
                                    "xs is not an accepted unit of time"]


def test_hint_suggests_near_names():
    from pytrace.parser import parse
    from pytrace.passes import check
    from pytrace.source import Source

    source = Source("stdin", "t:syscalls:sys_enter_opnat { }")
    program, _ = parse(source)
    assert program is not None
    cp = check(program, source)
    hints = cp.diagnostics.errors[0].hints
    assert hints and "syscalls:sys_enter_openat" in hints[0]


def test_preamble(checked):
    cp = checked("#define A 3\nstruct foo { int x; }\nconfig = { max_map_keys = 100; "
                 "missing_probes = ignore }\nBEGIN { }")
    assert cp.defines == {"A": "3"}
    assert cp.config["max_map_keys"] == 100 and cp.config["missing_probes"] == "ignore"
    assert cp.options.max_map_keys == 100 and cp.config_set == {"max_map_keys",
                                                                "missing_probes"}
    assert "struct foo" in cp.c_definitions


def test_positional_parameters_in_attach_points(checked, errors):
    cp = checked("t:syscalls:sys_enter_$1, interval:ms:$2 { }", params=["openat", "250"])
    assert [t.name for t in cp.probes[0].targets] == [
        "tracepoint:syscalls:sys_enter_openat", "interval:ms:250"]
    # a parameter not given is empty text, as in the program's string context
    (msg, _), *_ = errors("t:syscalls:sys_enter_$3 { }", params=["x"])
    assert "sys_enter_" in msg and "$3" not in msg
