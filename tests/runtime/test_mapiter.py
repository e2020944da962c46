"""len(@m) and `for ($kv : @m)` against the kernel (bpf_for_each_map_elem callbacks)."""

from __future__ import annotations

import pytest
from harness import begin, run

from pytrace.diagnostics import CompileError


def lines(out: str) -> list[str]:
    """Printed lines, without the map contents printed at exit."""
    return [ln for ln in out.splitlines() if ln and not ln.startswith("@")]


def test_len_of_keyed_unkeyed_percpu_and_empty_maps() -> None:
    out = begin('@a[1] = 10; @a[2] = 20; @a[3] = 30; @u = 5; @c[7] = count(); @c[7] = count();'
                ' @c[9] = count(); @e[1] = 1; delete(@e[1]);'
                ' printf("%d %d %d %d\\n", len(@a), len(@u), len(@c), len(@e))')
    assert lines(out) == ["3 1 2 0"]


def test_len_after_delete_and_in_a_condition() -> None:
    out = begin('@a[1] = 1; @a[2] = 2; delete(@a[1]); if (len(@a) == 1) { printf("one\\n"); }'
                ' @a[5] = 5; @a[6] = 6; printf("%d\\n", len(@a))')
    assert lines(out) == ["one", "3"]


def test_len_of_a_hist_map_is_a_located_error() -> None:
    with pytest.raises(CompileError) as info:
        run('BEGIN { @h = hist(3); printf("%d\\n", len(@h)); exit(); }')
    (diag,) = info.value.diagnostics
    assert "len() of a hist() map is not supported" in diag.message
    assert diag.span is not None and diag.span.col == 38


def test_for_prints_every_key_and_value() -> None:
    out = begin('@m[1] = 10; @m[2] = 20; @m[3] = 30;'
                ' for ($kv : @m) { printf("%d=%d\\n", $kv.0, $kv.1); }')
    assert sorted(lines(out)) == ["1=10", "2=20", "3=30"]


def test_for_over_strings_and_multi_keys() -> None:
    out = begin('@s["ab"] = "xy"; @s["cd"] = "zw"; @t[1, 2] = 3;'
                ' for ($kv : @s) { printf("%s=%s\\n", $kv.0, $kv.1); }'
                ' for ($kv : @t) { printf("(%d,%d)=%d\\n", $kv.0.0, $kv.0.1, $kv.1); }')
    assert sorted(lines(out)) == ["(1,2)=3", "ab=xy", "cd=zw"]


def test_for_folds_per_cpu_aggregations() -> None:
    out = begin('@c[1] = count(); @c[1] = count(); @s[2] = sum(5); @s[2] = sum(-8);'
                ' @mx[3] = max(4); @mx[3] = max(9); @mn[4] = min(-4); @mn[4] = min(2);'
                ' @av[5] = avg(10); @av[5] = avg(21);'
                ' for ($kv : @c) { printf("c %d %d\\n", $kv.0, $kv.1); }'
                ' for ($kv : @s) { printf("s %d %d\\n", $kv.0, $kv.1); }'
                ' for ($kv : @mx) { printf("mx %d %d\\n", $kv.0, $kv.1); }'
                ' for ($kv : @mn) { printf("mn %d %d\\n", $kv.0, $kv.1); }'
                ' for ($kv : @av) { printf("av %d %d\\n", $kv.0, $kv.1); }')
    assert lines(out) == ["c 1 2", "s 2 -3", "mx 3 9", "mn 4 -4", "av 5 15"]


def test_for_over_an_empty_map_runs_no_body() -> None:
    out = begin('@m[1] = 1; delete(@m[1]); for ($kv : @m) { printf("body\\n"); }'
                ' printf("done\\n")')
    assert lines(out) == ["done"]


def test_shared_variables_break_and_nested_loops() -> None:
    out = begin('@a[1] = 1; @a[2] = 2; @a[3] = 3; $n = 0; $sum = 0;'
                ' for ($kv : @a) { $n++; $sum += $kv.1; }'
                ' $m = 0; for ($kv : @a) { $m++; if ($m >= 2) { break; } }'
                ' $pairs = 0; for ($x : @a) { for ($y : @a) { $pairs++; } }'
                ' if ($n == 3) { printf("n=%d sum=%d m=%d pairs=%d\\n", $n, $sum, $m, $pairs); }')
    assert lines(out) == ["n=3 sum=6 m=2 pairs=9"]


def test_exit_inside_the_body_ends_the_probe() -> None:
    r = run('BEGIN { @a[1] = 1; @a[2] = 2; for ($kv : @a) { printf("once\\n"); exit(); }'
            ' printf("not reached\\n"); }')
    assert r.code == 0
    assert lines(r.out)[0] == "once" and "not reached" not in r.out
    assert r.out.count("once") == 1


def test_for_in_a_tracepoint_reads_args_inside_the_body() -> None:
    import os
    import threading
    import time

    done = threading.Event()

    def workload() -> None:  # getppid until the program has exited: it sees one
        while not done.is_set():
            os.getppid()
            time.sleep(0.001)

    t = threading.Thread(target=workload)
    t.start()
    try:
        r = run('tracepoint:syscalls:sys_enter_getppid { @a[1] = 7;'
                ' for ($kv : @a) { printf("nr=%d v=%d\\n", args.__syscall_nr, $kv.1); } exit(); }'
                ' interval:s:10 { exit(); }')
    finally:
        done.set()
        t.join()
    assert r.code == 0, r.err
    assert "nr=110 v=7" in lines(r.out)


def test_for_body_locals_stay_in_the_callback_frame() -> None:
    # 40 variables the loop body alone names (as a macro expanded in a for body has):
    # they are not shared through the caller's stack, so the program fits in 512 bytes
    names = [f"$v{i}" for i in range(40)]
    body = " ".join(f"{n} = $kv.1 + {i};" for i, n in enumerate(names))
    total = " + ".join(names)
    out = begin(f'$base = 100; @m[1] = 1; @m[2] = 2;'
                f' for ($kv : @m) {{ {body} $base += {total}; }}'
                ' printf("%d\\n", $base)')
    expected = 100 + sum(40 * v + sum(range(40)) for v in (1, 2))
    assert lines(out) == [str(expected)]


def test_for_body_local_starts_afresh_each_element() -> None:
    out = begin('@m[1] = 1; @m[2] = 2; @m[3] = 3; $n = 0;'
                ' for ($kv : @m) { let $seen; $seen += $kv.1; $n += $seen; }'
                ' printf("%d\\n", $n)')
    assert lines(out) == ["6"]
