"""Strings as bpftrace sizes them, for real: max_strlen-byte reads (1024 by default)
that live in scratch memory, the truncation trailer, str(p, n), strings of several
kilobytes as map keys, printf arguments, tuples and loop values, and the string
functions (strlen, strstr, strcontains, strncmp, str_concat, memcmp, strcap, buf)."""

from __future__ import annotations

import sys

from harness import begin, run

TAIL = "\n\n"
LONG = "/" + "ab/" * 1000 + "end"  # 3004 bytes; opening it fails with ENOENT at once


def opener(path: str, times: int = 1) -> list[str]:
    """A child that opens `path` (which does not exist) `times` times."""
    code = f"import os\nfor _ in range({times}):\n    try:\n        os.open({path!r}, 0)\n" \
           "    except OSError:\n        pass\n"
    return [sys.executable, "-c", code]


def traced(body: str, path: str = LONG, times: int = 1, **options: object) -> str:
    """Output of `body` run on the child's openat calls of `path` (the interpreter's own
    opens of its libraries are filtered out by their first bytes)."""
    head = path[:4]
    pred = f'pid == cpid && str(args.filename, 5) == "{head}"'
    r = run(f"tracepoint:syscalls:sys_enter_openat /{pred}/ {{ {body} }}",
            child=opener(path, times), **options)
    assert r.code == 0, r.err
    return r.out


def test_str_reads_max_strlen_bytes_and_marks_the_truncation() -> None:
    out = traced('printf("%s|\\n", str(args.filename));')
    line = out.splitlines()[0]
    assert line == LONG[:1023] + "..|"  # 1023 bytes, the NUL, then the trailer


def test_short_strings_have_no_trailer_and_str_n_keeps_n_minus_1_bytes() -> None:
    out = traced('printf("[%s] [%s]\\n", str(args.filename), str(args.filename, 5));',
                 path="/nonexistent/x")
    assert out.splitlines()[0] == "[/nonexistent/x] [/non]"


def test_max_strlen_and_the_trailer_come_from_the_config() -> None:
    out = traced('printf("%s\\n", str(args.filename));',
                 config={"max_strlen": 8, "str_trunc_trailer": "~~"})
    assert out.splitlines()[0] == "/ab/ab/~~"
    out = traced('printf("%s\\n", str(args.filename));',
                 config={"max_strlen": 8, "str_trunc_trailer": ""})
    assert out.splitlines()[0] == "/ab/ab/"


def test_kilobyte_strings_as_keys_tuples_and_loop_values() -> None:
    out = traced('@k[str(args.filename)] = count(); @t = (1, str(args.filename)); '
                 '@v[1] = str(args.filename); '
                 'for ($kv : @v) { printf("loop %d %s\\n", strlen($kv.1), $kv.1); }',
                 times=3, config={"max_strlen": 4096})
    text = LONG
    assert f"loop {len(text)} {text}\n" in out
    assert f"@k[{text}]: 3\n" in out
    assert f"@t: (1, {text})\n" in out
    assert f"@v[1]: {text}\n" in out


def test_string_functions() -> None:
    out = begin('$s = "hello world"; printf("%d %d %d %d %d\\n", strlen($s), strstr($s, "wor"), '
                'strstr($s, "xyz"), strcontains($s, "lo w"), strcontains($s, "low")); '
                'printf("%d %d %d\\n", strncmp($s, "help", 3), strncmp($s, "help", 4), '
                'strcap($s)); print(str_concat($s, "!")); print(memcmp("abc", "abd", 3)); '
                'print(memcmp("abc", "abc", 3)); print(strcontains($s, ""))')
    assert out == "11 6 -1 1 0\n0 1 12\nhello world!\n-1\n0\ntrue\n" + TAIL


def test_string_functions_on_kernel_read_strings() -> None:
    out = traced('$f = str(args.filename); printf("%d %d %d\\n", strlen($f), '
                 'strstr($f, "end"), strcontains($f, "ab/ab")); '
                 'printf("%s\\n", str_concat(str(args.filename, 4), "-x"));',
                 config={"max_strlen": 4096})
    assert out.splitlines()[:2] == [f"{len(LONG)} {LONG.index('end')} 1", "/ab-x"]


def test_buf_prints_with_r_rx_rh_and_print() -> None:
    out = begin('$b = buf("ab\\x01\\x7f", 4); printf("%r|%rx|%rh\\n", $b, $b, $b); print($b)')
    assert out == "ab\\x01\\x7f|\\x61\\x62\\x01\\x7f|61 62 01 7f\nab\\x01\\x7f\n" + TAIL


def test_buf_of_a_user_pointer_and_a_runtime_length() -> None:
    out = traced('printf("%r %r\\n", buf(args.filename, 4), buf(args.filename, 2 + 1));',
                 path="/nonexistent")
    assert out.splitlines()[0] == "/non /no"


def test_the_config_block_sizes_strings() -> None:
    r = run('config = { max_strlen = 6; str_trunc_trailer = "+" } '
            "tracepoint:syscalls:sys_enter_execve /pid == cpid/ { "
            'printf("%s\\n", str(args.filename)); }', child=["/bin/true"])
    assert r.out.startswith("/bin/+\n"), r.err
