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
    src = Source("stdin", text)
    opts = Options(params=params or [], has_child=child is not None, **options)  # type: ignore[arg-type]
    result = compile_source(src, opts)
    out, err = io.StringIO(), io.StringIO()
    code = run_session(result.obj, make_output(fmt, out, err, quiet=True), child)
    return Result(out.getvalue(), err.getvalue(), code)


def begin(body: str, params: list[str] | None = None) -> str:
    """Output of `BEGIN { body; exit(); }` without the trailing map section."""
    sep = "" if body.rstrip().endswith("}") else ";"
    r = run(f"BEGIN {{ {body}{sep} exit(); }}", params)
    assert r.code == 0, r.err
    return r.out
