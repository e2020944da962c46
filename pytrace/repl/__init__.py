"""The interactive REPL (prompt_toolkit): `pytrace` with no program starts it."""

from __future__ import annotations

import argparse
import sys


def start_repl(ns: argparse.Namespace) -> int:
    """Run the live tracing session until .quit or Ctrl-D; returns the exit code."""
    if not sys.stdin.isatty():
        sys.stderr.write("ERROR: no program given: use -e 'program' or a script file "
                         "(the interactive REPL needs a terminal)\n")
        return 1
    from pytrace.repl.app import run_repl

    return run_repl(list(getattr(ns, "args", []) or []))
