"""`-f json` against the kernel: every line is one JSON object, one per record type."""

from __future__ import annotations

import json

from harness import run

PROG = (
    'BEGIN { printf("hi \\x01 \\"q\\"\\n"); print(7); print("s\\t"); print((1, "a")); @c["a"] = count();'
    ' @s = sum(3); @m[1, "x"] = 2; @t = (1, "a"); @a = avg(4); @st = stats(10); @h = hist(5); @h = hist(9);'
    " @l = lhist(3, 0, 10, 2); @l = lhist(50, 0, 10, 2); @l = lhist(-1, 0, 10, 2); @hk[1] = hist(-1);"
    ' time("%H\\n"); print(@h); exit(); }'
)


def _records() -> list[dict[str, object]]:
    r = run(PROG, fmt="json")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert all(lines), "no blank lines in -f json output"
    return [json.loads(line) for line in lines]


def test_every_line_is_a_json_object_in_order() -> None:
    recs = _records()
    assert [x["type"] for x in recs] == [
        "printf", "value", "value", "value", "time", "hist",
        "stats", "map", "hist", "hist", "hist", "map", "map", "stats", "map",
    ]
    assert recs[0]["data"] == 'hi \x01 "q"\n'
    assert [x["data"] for x in recs[1:4]] == [7, "s\t", [1, "a"]]


def test_map_payloads() -> None:
    by_name = {}
    for rec in _records()[6:]:
        data = rec["data"]
        assert isinstance(data, dict) and len(data) == 1
        by_name.update(data)
    assert by_name["@c"] == {"a": 1}
    assert by_name["@m"] == {"1,x": 2}
    assert by_name["@s"] == 3 and by_name["@a"] == 4 and by_name["@t"] == [1, "a"]
    assert by_name["@st"] == {"count": 1, "average": 10, "total": 10}
    assert by_name["@h"] == [{"min": 4, "max": 7, "count": 1}, {"min": 8, "max": 15, "count": 1}]
    assert by_name["@hk"] == {"1": [{"max": -1, "count": 1}]}
    lh = by_name["@l"]
    assert isinstance(lh, list)
    assert lh[0] == {"max": -1, "count": 1} and lh[-1] == {"min": 10, "count": 1}
    assert lh[2] == {"min": 2, "max": 3, "count": 1}


def test_current_bpftrace_value_shapes() -> None:
    """Byte for byte: hist buckets joined by ',', key text without spaces, buf() as its
    bytes, a stack as its text (the shapes of current bpftrace's JSON)."""
    prog = ('BEGIN { @h = hist(5); @h = hist(9); @k[1, "a b"] = 1; @b = buf("hi", 2); '
            '@z[(1, "x y")] = 2; exit(); }')
    r = run(prog, fmt="json")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert '{"type": "hist", "data": {"@h": [{"min": 4, "max": 7, "count": 1},' \
           '{"min": 8, "max": 15, "count": 1}]}}' in lines
    assert '{"type": "map", "data": {"@k": {"1,ab": 1}}}' in lines
    assert '{"type": "map", "data": {"@b": [104,105]}}' in lines
    assert '{"type": "map", "data": {"@z": {"1,xy": 2}}}' in lines


def test_a_stack_value_is_its_text() -> None:
    child = ["/bin/sh", "-c", "exec python3 -c 'import os; os.getppid()'"]
    r = run("tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @s = kstack(1); exit(); }",
            fmt="json", child=child)
    assert r.code == 0, r.err
    rec = next(json.loads(x) for x in r.out.splitlines() if '"@s"' in x)
    text = rec["data"]["@s"]
    assert isinstance(text, str) and text.startswith("\n        ") and text.endswith("\n")
