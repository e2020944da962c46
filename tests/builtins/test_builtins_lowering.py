"""Every registered builtin either compiles all the way to a BPF object (`--dry-run`)
or is refused by the passes with a located "not implemented" error: no name may type-check
and then fail in codegen."""

from __future__ import annotations

import pytest

from pytrace import builtins
from pytrace.diagnostics import CompileError
from pytrace.driver import check_source, generate
from pytrace.passes.context import Options
from pytrace.source import Source

U = "uprobe:/bin/bash:readline"  # a probe kind where argN, retval-less builtins and pointers work
T = "tracepoint:syscalls:sys_enter_openat"
# name -> a program using it (the probe kinds the builtin is valid in)
USES: dict[str, str] = {
    **{n: f"BEGIN {{ @ = {n}; }}" for n in (
        "pid", "tid", "uid", "gid", "nsecs", "elapsed", "cpu", "rand", "cgroup", "numaid",
        "ncpus", "jiffies", "comm", "probe", "curtask", "username", "probetype", "usermode",
        "has_cpid", "ppid", "pcomm", "leader_tid", "leader_comm", "default_str_length")},
    "cpid": "BEGIN { @ = cpid; }",
    **{n: f"BEGIN {{ @ = {n}(curtask); }}" for n in (
        "is_array", "is_integer", "is_unsigned_integer", "is_ptr", "is_str", "is_literal",
        "is_err")},
    **{f"arg{i}": f"{U} {{ @ = arg{i}; }}" for i in range(10)},
    "retval": "uretprobe:/bin/bash:readline { @ = retval; }",
    "func": f"{U} {{ @ = func; }}",
    "args": f"{T} {{ @ = args.flags; }}",
    "kstack": f"{T} {{ @[kstack] = count(); }}",
    "ustack": f"{U} {{ @[ustack(perf, 5)] = count(); }}",
    "dw_ustack": f"{U} {{ @[dw_ustack(5)] = count(); }}",
    "ksym": "BEGIN { @ = ksym(0); }",
    "usym": f"{U} {{ @ = usym(arg0); }}",
    "printf": 'BEGIN { printf("%d %s\\n", 1, "a"); }',
    "print": "BEGIN { @x = 1; print(@x); print(1); }",
    "exit": "BEGIN { exit(); }",
    "time": 'BEGIN { time(); time("%H\\n"); }',
    "clear": "BEGIN { @x[1] = 1; clear(@x); }",
    "zero": "BEGIN { @x[1] = count(); zero(@x); }",
    "delete": "BEGIN { @x[1] = 1; delete(@x, 1); delete(@x[1]); }",
    "has_key": "BEGIN { @x[1] = 1; @y = has_key(@x, 1); }",
    "len": "BEGIN { @x[1] = 1; @y = len(@x); }",
    "str": f"{T} {{ @ = str(args.filename); @b = str(args.filename, 8); }}",
    "buf": f'{T} {{ @ = buf(args.filename, 8); }}',
    "strncmp": 'BEGIN { @ = strncmp("a", "b", 1); }',
    "strcontains": 'BEGIN { @ = strcontains("abc", "b"); }',
    "strftime": 'BEGIN { @ = strftime("%H", nsecs); }',
    "kaddr": 'BEGIN { @ = kaddr("do_nanosleep"); }',
    "uaddr": f'{U} {{ @ = uaddr("main"); }}',
    "reg": f'{U} {{ @ = reg("ip"); }}',
    "join": f"{U} {{ join(arg1); }}",
    "ntop": "BEGIN { @ = ntop(2, 0); }",
    "pton": 'BEGIN { @ = pton("127.0.0.1"); }',
    "macaddr": f"{U} {{ @ = macaddr(arg0); }}",
    "strerror": "BEGIN { @ = strerror(2); }",
    "system": 'BEGIN { system("true"); }',
    "signal": f"{T} {{ signal(9); }}",
    "override": "kprobe:do_nanosleep { override(0); }",
    "cat": 'BEGIN { cat("/etc/hostname"); }',
    "cgroupid": 'BEGIN { @ = cgroupid("/sys/fs/cgroup"); }',
    "cgroup_path": "BEGIN { @ = cgroup_path(1); }",
    "bswap": "BEGIN { @ = bswap((uint32)1); }",
    "path": "fentry:vfs_open { @ = path(0); }",
    **{n: f"BEGIN {{ @ = {n}(1); }}" for n in ("sum", "min", "max", "avg", "stats", "hist")},
    "count": "BEGIN { @ = count(); }",
    "strlen": 'BEGIN { @ = strlen("abc"); }',
    "strcap": 'BEGIN { @ = strcap("abc"); }',
    "strstr": 'BEGIN { @ = strstr("abc", "b"); }',
    "str_concat": 'BEGIN { @ = str_concat("a", "b"); }',
    "memcmp": 'BEGIN { @ = memcmp("abc", "abd", 3); }',
    "assert_str": 'BEGIN { assert_str("x"); }',
    "assert": "BEGIN { assert(1, \"never\"); }",
    "static_assert": 'BEGIN { static_assert(1 + 1 == 2, "math"); }',
    "fail": "BEGIN { if (0) { fail(\"never %d\", 1); } }",
    "errorf": 'BEGIN { errorf("e %d", 1); }',
    "warnf": 'BEGIN { warnf("w %d", 1); }',
    "debugf": 'BEGIN { debugf("d %d", 1); }',
    "find": "BEGIN { @x[1] = 2; $v = 0; if (find(@x, 1, $v)) { print($v); } }",
    "getopt": 'BEGIN { @ = getopt("n", 3); }',
    "kfunc_exist": 'BEGIN { @ = kfunc_exist("bpf_task_from_pid"); }',
    "kfunc_allowed": 'BEGIN { @ = kfunc_allowed("bpf_task_from_pid"); }',
    "signal_thread": f"{T} {{ signal_thread(\"SIGUSR1\"); }}",
    "signal_name": "BEGIN { @ = signal_name(2); }",
    "syscall_name": "BEGIN { @ = syscall_name(0); }",
    "kptr": "BEGIN { @ = kptr(0); }",
    "percpu_kaddr": 'BEGIN { @ = percpu_kaddr("process_counts"); }',
    "uptr": "BEGIN { @ = uptr(0); }",
    "unwatch": "BEGIN { unwatch(0); }",
    "write_user": f"{T} {{ write_user(args.filename, \"/x\", 2); }}",
    "socket_cookie": "fentry:tcp_rcv_established { @ = socket_cookie(0); }",
    "skboutput": 'fentry:netif_receive_skb { skboutput("x.pcap", 0, 1, 0); }',
    "lhist": "BEGIN { @ = lhist(1, 0, 10, 1); }",
    "tseries": "BEGIN { @ = tseries(1, 100ms, 5, \"max\"); }",
}


def test_every_registered_name_has_a_use() -> None:
    assert sorted(set(builtins.REGISTRY) - set(USES)) == []


@pytest.mark.parametrize("name", sorted(builtins.REGISTRY))
def test_compiles_or_is_refused_where_it_is_written(name: str) -> None:
    entry = builtins.REGISTRY[name]
    source = Source("stdin", USES[name])
    options = Options(has_child=True, unsafe=True)
    if entry.lowered:
        _ir, obj = generate(check_source(source, options))
        assert obj.elf.startswith(b"\x7fELF")
        return
    with pytest.raises(CompileError) as exc:
        check_source(source, options)
    messages = [d.message for d in exc.value.diagnostics]
    assert any(m.endswith("is not implemented by pytrace") and name in m for m in messages), \
        messages
    assert all(d.span is not None and d.span.line == 1 for d in exc.value.diagnostics)
