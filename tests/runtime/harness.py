"""Run a pytrace program in this process against the kernel and capture its output."""

from __future__ import annotations

import io
from dataclasses import dataclass

from pytrace.driver import compile_source
from pytrace.output import make_output
from pytrace.passes.context import Options
from pytrace.runtime.session import run_session
from pytrace.source import Source


@dataclass
class Result:
    out: str
    err: str
    code: int


def run(text: str, params: list[str] | None = None, fmt: str = "text",
        child: list[str] | None = None, **options: object) -> Result:
    """Compile and run; `options` are further Options fields (unsafe, named_params,
    warning_level, max_strlen...)."""
    return run_with(text, params=params or [], fmt=fmt, child=child, **options)


def run_with(text: str, name: str = "stdin", fmt: str = "text",
             child: list[str] | None = None, **options: object) -> Result:
    """Compile and run with any Options fields; compile warnings are in `err` too."""
    from pytrace.diagnostics import render_all

    src = Source(name, text)
    result = compile_source(src, Options(has_child=child is not None, **options))  # type: ignore[arg-type]
    out, err = io.StringIO(), io.StringIO()
    err.write(render_all(result.warnings, src))
    code = run_session(result.obj, make_output(fmt, out, err, quiet=True), child)
    return Result(out.getvalue(), err.getvalue(), code)


def run_file(path: str) -> Result:
    with open(path) as f:
        return run_with(f.read(), name=path)


def begin(body: str, params: list[str] | None = None) -> str:
    """Output of `BEGIN { body; exit(); }` without the trailing map section."""
    sep = "" if body.rstrip().endswith("}") else ";"
    r = run(f"BEGIN {{ {body}{sep} exit(); }}", params)
    assert r.code == 0, r.err
    return r.out
