"""Every aggregation and map function against the kernel (BEGIN runs via BPF_PROG_TEST_RUN).

Expected texts are bpftrace's output for the same programs (current-bpftrace format,
see shared/spec/OUTPUT.md); hist(x, k) rows are checked by parsing each row's label
back into a numeric range and finding every recorded value in the right row.
"""

from __future__ import annotations

import os
import re
import sys

import pytest
from harness import begin, run

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from test_oneliners import pytrace, workload  # noqa: E402

SUFFIX = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50, "E": 1 << 60}


def _num(s: str) -> int:
    m = re.fullmatch(r"(-?\d+)([KMGTPE]?)", s.strip())
    assert m, s
    return int(m.group(1)) * SUFFIX[m.group(2)]


def _row_range(label: str) -> tuple[float, float]:
    """[lo, hi) of a histogram row label (inclusive lo, exclusive hi)."""
    if label.startswith("(..., "):
        return float("-inf"), _num(label[6:-1])
    if label.endswith(", ...)"):
        return _num(label[1:-6]), float("inf")
    if "," not in label:
        n = _num(label[1:-1])
        return n, n + 1
    lo, hi = label[1:-1].split(",")
    return _num(lo), _num(hi)


def _rows(text: str, header: str) -> list[tuple[tuple[float, float], int]]:
    lines = text.split("\n")
    i = lines.index(header) + 1
    rows = []
    while lines[i]:
        m = re.fullmatch(r"(.{16})\s*(\d+) \|(@*) *\|", lines[i])
        assert m, lines[i]
        rows.append((_row_range(m.group(1).strip()), int(m.group(2))))
        i += 1
    return rows


def test_scalar_aggregations_keyed_and_unkeyed_with_negatives() -> None:
    r = run(
        "BEGIN { @c = count(); @c = count(); @s = sum(-5); @s = sum(3); @mn = min(-7); @mn = min(4);"
        " @mx = max(-7); @mx = max(-9); @a = avg(-10); @a = avg(3); @st = stats(10); @st = stats(-3);"
        ' @k[1] = count(); @k[2] = count(); @k[2] = count(); @sk["x"] = sum(5000000000);'
        " @ak[-1] = avg(7); exit(); }"
    )
    assert r.code == 0, r.err
    assert r.out == (
        "\n\n@a: -3\n@ak[-1]: 7\n@c: 2\n@k[1]: 1\n@k[2]: 2\n@mn: -7\n@mx: -7\n@s: -2\n"
        "@sk[x]: 5000000000\n@st: { .count = 2, .average = 3, .total = 7 }\n"
    )


def test_hist_negative_zero_and_beyond_32_bits() -> None:
    out = begin("@h = hist(-5); @h = hist(0); @h = hist(1); @h = hist(3); @h = hist(5000000000);"
                " @h = hist(1 << 40)")
    rows = dict((r[0], r[1]) for r in _rows(out, "@h:"))
    assert rows[(float("-inf"), 0)] == 1
    assert rows[(0, 1)] == 1 and rows[(1, 2)] == 1 and rows[(2, 4)] == 1
    assert rows[(4 << 30, 8 << 30)] == 1  # 5e9 is not folded into [2G, 4G) (bpftrace 0.17 bug)
    assert rows[(1 << 40, 2 << 40)] == 1
    assert "[2G, 4G)               0 |" in out


@pytest.mark.parametrize("k", [0, 1, 2, 3, 4, 5])
def test_hist_sub_buckets_put_every_value_in_its_row(k: int) -> None:
    values = [-5, 0, 1, 3, 7, 100, 1000, 1536, 5000, 1 << 20, 5000000000]
    body = "; ".join(f"@h = hist({v}, {k})" for v in values)
    rows = _rows(begin(body), "@h:")
    assert sum(c for _, c in rows) == len(values)
    for v in values:
        hits = [c for (lo, hi), c in rows if lo <= v < hi]
        assert hits == [1], (k, v, hits)
    # rows are contiguous: each starts where the previous one ended
    for (a, b) in zip(rows, rows[1:]):
        assert a[0][1] == b[0][0]


def test_lhist_under_over_and_uneven_step() -> None:
    r = run("BEGIN { @l = lhist(-1, 0, 10, 2); @l = lhist(3, 0, 10, 2); @l = lhist(100, 0, 10, 2);"
            ' @u["a"] = lhist(5, 0, 10, 3); @u["a"] = lhist(10, 0, 10, 3); @u["b"] = lhist(9, 0, 10, 3);'
            " @m = lhist(1048576, 0, 4194304, 1048576); @m = lhist(5000000000, 0, 4194304, 1048576); exit(); }")
    assert r.code == 0, r.err
    bar = "@" * 52
    empty = " " * 52
    assert r.out == (
        "\n\n@l:\n"
        f"(..., 0)               1 |{bar}|\n"
        f"[0, 2)                 0 |{empty}|\n"
        f"[2, 4)                 1 |{bar}|\n"
        f"[4, 6)                 0 |{empty}|\n"
        f"[6, 8)                 0 |{empty}|\n"
        f"[8, 10)                0 |{empty}|\n"
        f"[10, ...)              1 |{bar}|\n\n"
        "@m:\n"
        f"[1M, 2M)               1 |{bar}|\n"
        f"[2M, 3M)               0 |{empty}|\n"
        f"[3M, 4M)               0 |{empty}|\n"
        f"[4M, ...)              1 |{bar}|\n\n"
        # step 3 does not divide 10: the overflow row starts at the last edge (current
        # bpftrace; 0.17 labelled it [10, ...))
        "@u[b]:\n"
        f"[9, ...)               1 |{bar}|\n\n"
        "@u[a]:\n"
        f"[3, 6)                 1 |{bar}|\n"
        f"[6, 9)                 0 |{empty}|\n"
        f"[9, ...)               1 |{bar}|\n\n"
    )


def test_reading_aggregations_in_expressions() -> None:
    out = begin('@c[1] = count(); @c[2] = count(); @c[2] = count(); if (@c[2] > 1) { printf("big %d\\n", @c[2]); }'
                " @s = sum(7); @s = sum(8); @mx = max(3); @mx = max(-4); @mn = min(-2); @a = avg(10); @a = avg(21);"
                ' printf("%d %d %d %d\\n", @s, @mx, @mn, @a)')
    assert out.startswith("big 2\n15 3 -2 15\n")


def test_print_top_div_key_and_values() -> None:
    out = begin('@m[1] = 10; @m[2] = 20; @m[3] = 30; @m[4] = 5; print(@m, 2); print(@m, 2, 10); print(@m[2]);'
                ' print(5); print(-3); print("abc"); print((1, "a")); @a[1] = avg(10); @a[2] = avg(100);'
                " print(@a, 1, 10); @h[1] = hist(4); @h[1] = hist(4); @h[2] = hist(1); print(@h, 1, 2)")
    head = out.split("\n\n\n")[0]
    assert head == (
        "@m[2]: 20\n@m[3]: 30\n@m[2]: 2\n@m[3]: 3\n20\n5\n-3\nabc\n(1, a)\n@a[2]: 10\n@h[1]:\n"
        f"[4, 8)                 1 |{'@' * 52}|"
    )


def test_clear_zero_delete_has_key() -> None:
    r = run('BEGIN { @x[1, "a"] = 5; @c = count(); @z[3] = 1; @z[4] = 2; @t[1, "b"] = 1; @t[2, "c"] = 2;'
            ' print(@x); clear(@x); zero(@c); delete(@z[3]); delete(@t, (1, "b")); @d[7] = 1; delete(@d, 7);'
            ' printf("%d %d\\n", has_key(@z, 3), has_key(@z, 4)); exit(); }')
    assert r.code == 0, r.err
    assert r.out == "@x[1, a]: 5\n0 1\n\n\n@c: 0\n@t[2, c]: 2\n@z[4]: 2\n"


def test_full_map_keeps_existing_keys_and_warns_once() -> None:
    r = run("BEGIN { $i = 0; while ($i < 5000) { @m[$i] = count(); $i++; } @m[1] = count(); @m[4095] = count();"
            " @n[1] = 1; exit(); }")
    assert r.code == 0, r.err
    assert r.err.count("WARNING:") == 1 and "Map @m is full (4096 keys)" in r.err
    lines = [ln for ln in r.out.splitlines() if ln.startswith("@m[")]
    assert len(lines) == 4096
    assert "@m[1]: 2" in lines and "@m[4095]: 2" in lines and "@m[4096]: 1" not in lines
    assert "@n[1]: 1" in r.out


def test_read_sizes_hist_and_lhist_from_a_tracepoint() -> None:
    prog = ('t:syscalls:sys_exit_read /comm == "pt_hist"/ { @b = hist(args.ret); @l = lhist(args.ret, 0, 4096, 1024);'
            " @s = stats(args.ret); }")
    r = pytrace("-c", workload("pt_hist", "read", "3", "100", "read", "5", "3000"), "-e", prog)
    assert r.returncode == 0, r.stderr
    rows = _rows(r.stdout, "@b:")
    assert [c for (lo, hi), c in rows if lo <= 100 < hi] == [3]
    assert [c for (lo, hi), c in rows if lo <= 3000 < hi] == [5]
    lrows = _rows(r.stdout, "@l:")
    assert lrows[0] == ((0, 1024), 3) and lrows[-1] == ((2048, 3072), 5)
    assert "@s: { .count = 8, .average = 1912, .total = 15300 }" in r.stdout


def test_output_file_gets_everything_and_stdout_nothing(tmp_path: os.PathLike[str]) -> None:
    path = f"{tmp_path}/out.txt"
    r = pytrace("-o", path, "-e", 'BEGIN { printf("x\\n"); @c = count(); exit(); }')
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    with open(path) as f:
        assert f.read() == "x\n\n\n@c: 1\n"


def test_line_buffering_delivers_printf_before_exit() -> None:
    import subprocess

    from test_oneliners import ENV

    prog = 'BEGIN { printf("early\\n"); } interval:s:60 { exit(); }'
    proc = subprocess.Popen([sys.executable, "-m", "pytrace", "-B", "line", "-e", prog],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "early\n"  # arrives while pytrace still runs
        assert proc.poll() is None
    finally:
        proc.send_signal(2)
        proc.communicate(timeout=30)


def test_min_max_maps_order_negative_values_last() -> None:
    """bpftrace orders min()/max() maps by the values compared as unsigned 64-bit
    integers; sum() maps by the signed value."""
    r = run("BEGIN { @m[1] = max(-5); @m[2] = max(3); @m[3] = max(-1); "
            "@s[1] = sum(-5); @s[2] = sum(3); @s[3] = sum(-1); exit(); }")
    assert r.code == 0, r.err
    assert "@m[2]: 3\n@m[1]: -5\n@m[3]: -1\n" in r.out
    assert "@s[1]: -5\n@s[3]: -1\n@s[2]: 3\n" in r.out


def test_print_stats_with_top_and_div_warns() -> None:
    r = run("BEGIN { @st = stats(9); print(@st, 0, 2); clear(@st); exit(); }")
    assert r.code == 0, r.err
    assert "WARNING: print()'s top and div arguments are ignored when used on stats() " \
           "maps." in r.err
    assert r.out.startswith("@st: { .count = 1, .average = 4, .total = 9 }\n")
