"""Rendering: bpftrace's format for normal lines; huge lines and messages are clipped
around the span; bytes that are not UTF-8 in a string literal are a located error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytrace.diagnostics import MAX_LINE, CompileError, Diagnostic, Severity, clip_line, render
from pytrace.driver import check_source, generate
from pytrace.options import Options
from pytrace.source import Source, Span


def test_normal_line_is_unchanged() -> None:
    src = Source("stdin", "BEGIN { @x = foo; }")
    d = Diagnostic(Severity.ERROR, "Unknown identifier: 'foo'", Span(1, 14, 1, 17))
    assert render(d, src) == ("stdin:1:14-17: ERROR: Unknown identifier: 'foo'\n"
                              "BEGIN { @x = foo; }\n"
                              "             ~~~\n")


@pytest.mark.parametrize("start", [0, 5, 5000, 999_990])
@pytest.mark.parametrize("width", [1, 3, 150, 500])
def test_clip_keeps_the_span_under_the_tildes(start: int, width: int) -> None:
    line = "".join(chr(ord("a") + i % 26) for i in range(1_000_000))
    width = min(width, len(line) - start)
    shown, col, w = clip_line(line, start, width)
    assert len(shown) <= MAX_LINE
    assert 1 <= w <= width
    text = shown[col:col + w]
    assert text == line[start:start + w]  # the tildes sit exactly under the span's start


def test_one_megabyte_literal_error_is_short() -> None:
    text = 'BEGIN { @x = "' + "A" * 1_000_000 + '"; }'
    with pytest.raises(CompileError) as exc:
        generate(check_source(Source("stdin", text), Options()))
    out = "".join(render(d, exc.value.source) for d in exc.value.diagnostics)
    assert len(out) < 2000
    assert out.startswith("stdin:1:")


def test_huge_message_is_clipped() -> None:
    d = Diagnostic(Severity.ERROR, "Unknown identifier: '" + "B" * 100_000 + "'", None)
    out = render(d, None)
    assert len(out) < 1000 and out.endswith("B'\n")


@pytest.mark.parametrize("raw", [b'BEGIN { printf("a\xff\xfeb\\n"); }', b'BEGIN { @x = "\xc3"; }'])
def test_non_utf8_literal_is_a_located_error(tmp_path: Path, raw: bytes) -> None:
    f = tmp_path / "p.bt"
    f.write_bytes(raw)
    r = subprocess.run([sys.executable, "-m", "pytrace", "--dry-run", str(f)], capture_output=True,
                       text=True, timeout=60, env=dict(os.environ, PYTRACE_NO_CACHE="1"))
    assert r.returncode == 1
    head, line, tildes = r.stderr.splitlines()[:3]
    col = raw.index(b"\"") + 2 + (1 if raw.startswith(b'BEGIN { printf') else 0)
    assert head.startswith(f"{f}:1:{col}-{col + 1}: ERROR: invalid UTF-8 in string literal")
    assert tildes == " " * (col - 1) + "~"
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr


def test_non_utf8_in_a_comment_is_fine(tmp_path: Path) -> None:
    f = tmp_path / "p.bt"
    f.write_bytes(b"BEGIN { @x = 1; } // \xff\xfe\n")
    r = subprocess.run([sys.executable, "-m", "pytrace", "--dry-run", str(f)], capture_output=True,
                       timeout=60, env=dict(os.environ, PYTRACE_NO_CACHE="1"))
    assert r.returncode == 0, r.stderr
