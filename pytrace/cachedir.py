"""Where pytrace keeps its caches, `$XDG_CACHE_HOME/pytrace` (default ~/.cache/pytrace),
and how files there are read and written safely: directories 0700 and files 0600, owned
by the current user; anything another user could have planted is ignored."""

from __future__ import annotations

import os
import stat


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pytrace")


def is_safe(st: os.stat_result) -> bool:
    """Owned by us and not writable by group or others."""
    return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def safe_dir(path: str) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and is_safe(st)


def read_safe(path: str) -> bytes | None:
    """The file's bytes when it is a regular file we own that others cannot write."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or not is_safe(st):
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    except OSError:
        return None
    finally:
        os.close(fd)


def ensure_dir(d: str) -> bool:
    try:
        os.makedirs(os.path.dirname(d), exist_ok=True)
        os.mkdir(d, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return False
    return safe_dir(d)


def read_private(path: str) -> bytes | None:
    """A file under the cache directory, read only when it and its directory are safe."""
    if not safe_dir(os.path.dirname(path)):
        return None
    return read_safe(path)


def write_private(path: str, data: bytes) -> bool:
    """Write a file under the cache directory (directories 0700, file 0600, atomic)."""
    d = os.path.dirname(path)
    if not (ensure_dir(cache_dir()) and ensure_dir(d)):
        return False
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
    return True
