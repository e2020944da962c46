"""Records `(name=value, ...)` compiled, run in the kernel and printed: construction,
field access, variables, map values and keys, print/printf/JSON, one type whatever
order the fields are written in (the evaluation order kept), == and !=."""

from __future__ import annotations

import json
import os

from harness import begin, run

TAIL = "\n\n"


def test_print_and_field_access() -> None:
    out = begin('$a = (color="green", size=2); print($a); print($a.size); '
                '$a = (size=10, color="blue"); print($a.color); print($a)')
    assert out == ('{ .color = "green", .size = 2 }\n2\nblue\n'
                   '{ .color = "blue", .size = 10 }\n' + TAIL)


def test_evaluation_order_is_kept_when_the_type_is_reordered() -> None:
    out = begin('$a = (color="x", size=1); '
                '$a = (size={ print("first"); 20 }, color={ print("second"); "pink" }); '
                'print($a)')
    assert out == 'first\nsecond\n{ .color = "pink", .size = 20 }\n' + TAIL


def test_map_values_and_keys_in_any_order() -> None:
    r = run('BEGIN { @k[(a=1, b="x")] = 1; @k[(b="yy", a=4)] = 2; @k[(b="x", a=1)]++; '
            '@v = (b="q", a=1); exit(); } END { @v = (a=5, b="zz"); }')
    assert r.code == 0, r.err
    assert r.out == ('\n\n@k[{ .a = 1, .b = "x" }]: 2\n@k[{ .a = 4, .b = "yy" }]: 2\n'
                     '@v: { .b = "zz", .a = 5 }\n')


def test_records_with_kernel_values_and_nesting() -> None:
    with open("/proc/self/comm") as f:
        comm = f.read().strip()
    pid = os.getpid()
    out = begin('$r = (pid=pid, name=comm, t=(1, (x=2))); '
                'printf("%d %s %d|%s\\n", $r.pid, $r.name, $r.t.1.x, $r)')
    assert out == (f'{pid} {comm} 2|{{ .pid = {pid}, .name = "{comm}", '
                   '.t = (1, { .x = 2 }) }\n' + TAIL)


def test_equality() -> None:
    out = begin('$a = (a=1, s="xy"); $b = (s="xy", a=1); '
                'printf("%d %d %d %d\\n", $a == $b, $a != $b, (1, "a") == (1, "ab"), '
                '(1, (2, 3)) != (1, (2, 4)))')
    assert out == "1 0 0 1\n" + TAIL


def test_json_output() -> None:
    r = run('BEGIN { $a = (color="green", size=2); print($a); @m = $a; exit(); }', fmt="json")
    assert r.code == 0, r.err
    lines = [json.loads(x) for x in r.out.splitlines()]
    assert {"type": "value", "data": {"color": "green", "size": 2}} in lines
    assert {"type": "map", "data": {"@m": {"color": "green", "size": 2}}} in lines


def test_for_loop_reads_record_values() -> None:
    r = run('BEGIN { @r[1] = (a=1, b="x"); @r[2] = (b="yy", a=2); '
            'for ($kv : @r) { @sum = sum($kv.1.a); } print(@sum); clear(@r); exit(); }')
    assert r.code == 0, r.err
    assert r.out.startswith("@sum: 3\n")
