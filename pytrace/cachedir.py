"""Where pytrace keeps its caches: `$XDG_CACHE_HOME/pytrace` (default ~/.cache/pytrace)."""

from __future__ import annotations

import os


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pytrace")
