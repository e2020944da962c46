"""The interactive REPL (prompt_toolkit). Not built yet: issue 6."""

from __future__ import annotations

import argparse
import sys


def start_repl(ns: argparse.Namespace) -> int:
    sys.stderr.write("ERROR: no program given: use -e 'program' or a script file "
                     "(the interactive REPL is not available yet)\n")
    return 1
