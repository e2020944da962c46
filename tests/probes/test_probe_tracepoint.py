"""Tracepoints against the real tracefs (read-only) and format file parsing."""

from __future__ import annotations

import os

import pytest

from pytrace.probes import ProbeError, expand, list_probes, parse_format, tracepoint_fields
from pytrace.probes.target import TpField

TRACEFS = "/sys/kernel/tracing"
needs_tracefs = pytest.mark.skipif(
    not os.path.exists(f"{TRACEFS}/events/syscalls/sys_enter_openat/format"),
    reason="tracefs with syscall tracepoints not readable")

FORMAT = """name: sched_process_exec
ID: 300
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;
\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;
\tfield:char comm[16];\toffset:16;\tsize:16;\tsigned:0;
\tfield:const char * name;\toffset:32;\tsize:8;\tsigned:0;
\tfield:u32 vals[4];\toffset:40;\tsize:16;\tsigned:0;

print fmt: "filename=%s", __get_str(filename)
"""


def test_parse_format():
    fields = parse_format(FORMAT)
    assert [f.name for f in fields] == ["filename", "pid", "comm", "name", "vals"]
    assert fields[0] == TpField("filename", "__data_loc char[]", 8, 4, False, None, True)
    assert fields[1] == TpField("pid", "pid_t", 12, 4, True)
    assert fields[2] == TpField("comm", "char[16]", 16, 16, False, 16)
    assert fields[3].is_string_pointer
    assert fields[4].array_len == 4 and not fields[4].is_string_pointer


@needs_tracefs
def test_real_fields():
    fields = tracepoint_fields("syscalls", "sys_enter_openat")
    names = [f.name for f in fields]
    assert "filename" in names and not any(n.startswith("common_") for n in names)
    filename = next(f for f in fields if f.name == "filename")
    assert filename.size == 8 and filename.is_string_pointer


@needs_tracefs
def test_wildcards_in_category_and_event():
    targets = expand("tracepoint:sys*:sys_enter_openat*")
    names = {t.name for t in targets}
    assert "tracepoint:syscalls:sys_enter_openat" in names
    assert all(t.attach["category"] == "syscalls" for t in targets)
    assert all(t.user_pointers for t in targets)
    (sched,) = expand("t:sched:sched_switch")
    assert not sched.user_pointers and sched.field_named("prev_comm") is not None


@needs_tracefs
def test_not_found_with_hint():
    with pytest.raises(ProbeError) as info:
        expand("t:syscalls:sys_enter_opnat")
    assert info.value.message == "tracepoint not found: syscalls:sys_enter_opnat"
    assert "syscalls:sys_enter_openat" in info.value.hints[0]
    with pytest.raises(ProbeError) as info:
        expand("t:syscalls:zzzz*")
    assert info.value.message == "tracepoint not found: syscalls:zzzz*"


@needs_tracefs
def test_list_probes():
    listed = list_probes("sys_enter_open*")
    assert "tracepoint:syscalls:sys_enter_openat" in listed
    assert all(n.startswith("tracepoint:") for n in listed)
    assert list_probes("t:syscalls:sys_enter_openat") == ["tracepoint:syscalls:sys_enter_openat"]


def test_missing_tracefs(tmp_path):
    from pytrace.probes.base import ProbeContext

    with pytest.raises(ProbeError) as info:
        expand("t:a:b", ProbeContext(tracefs=str(tmp_path)))
    assert "cannot read tracepoints" in info.value.message
    assert list_probes("*", tracefs=str(tmp_path)) == []


@needs_tracefs
def test_rawtracepoint():
    (t,) = expand("rawtracepoint:sched_switch")
    assert t.attach == {"event": "sched_switch"}
    with pytest.raises(ProbeError):
        expand("rt:no_such_event_here")


def _btf_blob(*names: str) -> bytes:
    """A BTF header with no types and a string section holding `names`."""
    import struct

    strings = b"\0" + b"".join(n.encode() + b"\0" for n in names)
    return struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 0, 0, len(strings)) + strings


@needs_tracefs
def test_rawtracepoint_with_a_module(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from pytrace.probes import tracepoint

    btf = tmp_path / "btf"
    btf.mkdir()
    (btf / "vmlinux").symlink_to("/sys/kernel/btf/vmlinux")
    (btf / "fakemod").write_bytes(_btf_blob("btf_trace_sched_switch", "other"))
    monkeypatch.setattr(tracepoint, "BTF_DIR", str(btf))
    assert tracepoint.btf_modules(str(btf)) == ["vmlinux", "fakemod"]
    (t,) = expand("rawtracepoint:vmlinux:sched_switch")
    assert (t.name, t.attach) == ("rawtracepoint:vmlinux:sched_switch",
                                  {"event": "sched_switch", "module": "vmlinux"})
    (t,) = expand("rt:fakemod:sched_switch")
    assert (t.name, t.attach["module"]) == ("rawtracepoint:fakemod:sched_switch", "fakemod")
    both = expand("rawtracepoint:*:sched_switch")
    assert sorted(t.name for t in both) == ["rawtracepoint:fakemod:sched_switch",
                                            "rawtracepoint:vmlinux:sched_switch"]
    with pytest.raises(ProbeError, match="raw tracepoint not found: fakemod:sched_wakeup"):
        expand("rawtracepoint:fakemod:sched_wakeup")  # not the module's own
    with pytest.raises(ProbeError, match="rawtracepoint module not found: kvm"):
        expand("rawtracepoint:kvm:sched_switch")
