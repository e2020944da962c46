"""A disk cache of what user-space probe scans read from ELF files.

`-l 'usdt:*:*'` and `uprobe:*:FUNC` read thousands of files ($PATH, every mapped
library) of which almost none change between runs. What was read from a file (its
USDT notes, the functions looked up by name, its PT_LOAD segments) is kept under
`$XDG_CACHE_HOME/pytrace/userscan/files.json`, keyed by the file's identity (device,
inode, size, mtime in ns, and the ELF's offset inside an archive): a file that changes
gets a new identity, and hard links and the `/bin` = `/usr/bin` alias share one entry.
A result that depends on a separate debug file also records the identity of every
place that debug file could be (pytrace.probes.debugfile), and is used only while
they are all unchanged.

The file is plain JSON read with the cache directory's safety rules
(pytrace.cachedir: ours, 0700/0600, never followed through a symlink); anything
malformed is ignored. New entries are written once, when the process exits (or on
`flush`), merged with what another pytrace wrote meanwhile.
"""

from __future__ import annotations

import atexit
import json
import os
from typing import Any

from pytrace import cachedir

VERSION = 1
MAX_ENTRIES = 50_000
Entry = dict[str, Any]


def identity(st: os.stat_result, base: int = 0) -> str:
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{base}"


def path_identity(path: str) -> str | None:
    """The identity of the file at `path` (following links), None when there is none."""
    try:
        return identity(os.stat(path))
    except OSError:
        return None


def enabled() -> bool:
    return not os.environ.get("PYTRACE_NO_CACHE")


def cache_path() -> str:
    return os.path.join(cachedir.cache_dir(), "userscan", "files.json")


def _parse(raw: bytes | None) -> dict[str, Entry]:
    if raw is None:
        return {}
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        return {}
    files = doc.get("files")
    if not isinstance(files, dict):
        return {}
    return {k: v for k, v in files.items() if isinstance(k, str) and isinstance(v, dict)}


class ScanCache:
    """The entries of one cache file, loaded on first use, written back on flush."""

    def __init__(self, path: str | None = None) -> None:
        self._path = path
        self._files: dict[str, Entry] | None = None
        self._new: dict[str, Entry] = {}
        self._registered = False

    @property
    def path(self) -> str:
        return self._path or cache_path()

    def _all(self) -> dict[str, Entry]:
        if self._files is None:
            self._files = _parse(cachedir.read_private(self.path)) if enabled() else {}
        return self._files

    def get(self, ident: str, field: str) -> Any:
        """What was stored under `field` for the file `ident` (None: nothing)."""
        entry = self._all().get(ident)
        return None if entry is None else entry.get(field)

    def put(self, ident: str, field: str, value: Any) -> None:
        entry = self._all().setdefault(ident, {})
        entry[field] = value
        self._new.setdefault(ident, {})[field] = value
        if not self._registered and enabled():
            self._registered = True
            atexit.register(self.flush)

    def flush(self) -> None:
        """Write the new entries, merged into the file's current content."""
        if not self._new or not enabled():
            return
        merged = _parse(cachedir.read_private(self.path))
        for ident, fields in self._new.items():
            merged.setdefault(ident, {}).update(fields)
        if len(merged) > MAX_ENTRIES:  # keep the newest entries
            merged = dict(list(merged.items())[-MAX_ENTRIES:])
        data = json.dumps({"version": VERSION, "files": merged}, separators=(",", ":"))
        if cachedir.write_private(self.path, data.encode()):
            self._new.clear()


STORE = ScanCache()


def valid_deps(deps: Any) -> bool:
    """Whether every recorded (path, identity or None) still holds."""
    if not isinstance(deps, list):
        return False
    for dep in deps:
        if not (isinstance(dep, list) and len(dep) == 2 and isinstance(dep[0], str)):
            return False
        if path_identity(dep[0]) != dep[1]:
            return False
    return True


def deps_of(paths: list[str]) -> list[list[str | None]]:
    return [[p, path_identity(p)] for p in paths]
