"""Which files a uprobe/usdt target names, as bpftrace resolves them.

- `ARCHIVE!/MEMBER`: an uncompressed member of a zip archive (pytrace.probes.archive).
- `*`: every ELF file the `-p` process maps (without -p: every running process's).
- a glob (`/usr/lib/*/libc.so.6`): every matching ELF file (and, with -p, the mapped
  files it matches).
- a path, or a command found in $PATH (the target process's own PATH when it lives in
  another mount namespace).
- a library name starting with `lib` (`libc`, `libssl.so.3`): the library the -p
  process maps, else the dynamic linker's cache, LD_LIBRARY_PATH and the standard
  directories.

With -p, files of a process in another mount namespace are opened through
/proc/PID/root, and probes name them so (`uprobe:/proc/123/root/usr/bin/app:main`),
as bpftrace does.
Only ELF executables (with execute permission) and shared objects are probed, unless
`--unsafe`.
"""

from __future__ import annotations

import glob as globlib
import os
import stat

from pytrace.frozen import frozen
from pytrace.probes import archive, scancache
from pytrace.probes.base import ProbeError, has_wildcard, match

ELF_MAGIC = b"\x7fELF"
ET_EXEC, ET_DYN = 2, 3
LIB_DIRS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
            "/lib", "/usr/lib", "/usr/local/lib")


@frozen
class Binary:
    """One resolved target file.

    shown: the path in probe names (`path`, or `ARCHIVE!/MEMBER`).
    path: the file the kernel's uprobe names (openable by pytrace).
    base: where the ELF starts inside `path` (an archive member's data offset).
    """

    shown: str
    path: str
    base: int = 0


def elf_type(path: str, base: int = 0) -> int | None:
    """e_type of the ELF file at `path` (from byte `base`), None when it is not ELF."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        head = os.pread(fd, 18, base)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(head) < 18 or head[:4] != ELF_MAGIC:
        return None
    return int.from_bytes(head[16:18], "little")


def probeable(path: str, base: int = 0, unsafe: bool = False) -> bool:
    """An executable ELF with execute permission, or a shared object (any file
    with --unsafe)."""
    if unsafe:
        return os.path.isfile(path)
    kind = elf_type(path, base)
    if kind == ET_DYN:
        return True
    if kind != ET_EXEC:
        return False
    try:
        return bool(os.stat(path).st_mode & stat.S_IXUSR)
    except OSError:
        return False


# ------------------------------------------------------------------ processes
def other_mount_ns(pid: int | None) -> bool:
    """Whether process `pid` sees another filesystem than pytrace does."""
    if pid is None:
        return False
    try:
        return os.stat("/proc/self/ns/mnt").st_ino != os.stat(f"/proc/{pid}/ns/mnt").st_ino
    except OSError:
        return False


def root_of(pid: int | None) -> str:
    """The prefix that opens process `pid`'s files ('' in our own mount namespace)."""
    return f"/proc/{pid}/root" if other_mount_ns(pid) else ""


def mapped_files(pid: int) -> dict[str, str]:
    """The ELF files process `pid` maps: its own path -> a path pytrace can open."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise ProbeError(f"cannot read the mappings of pid {pid}: {exc.strerror}") from None
    out: dict[str, str] = {}
    for line in lines:
        fields = line.split(None, 5)
        if len(fields) < 6 or not fields[5].startswith("/") or fields[5].endswith(" (deleted)"):
            continue
        path = fields[5]
        readable = f"/proc/{pid}/root{path}"
        if path not in out and elf_type(readable) is not None:
            out[path] = readable
    return out


def running_pids() -> list[int]:
    return sorted(int(d) for d in os.listdir("/proc") if d.isdigit())


def every_mapped_file() -> dict[str, str]:
    """The ELF files any running process maps (`usdt:*:probe` without -p): its own
    path -> a path pytrace can open."""
    out: dict[str, str] = {}
    for pid in running_pids():
        try:
            files = mapped_files(pid)
        except ProbeError:
            continue  # gone, or a kernel thread
        root = root_of(pid)
        for path in files:
            out.setdefault(path, root + path)
    return out


def _probeable_stat(path: str, st: os.stat_result) -> bool:
    """probeable() for a file already stat'ed, its ELF type remembered by identity
    (pytrace.probes.scancache) so a warm $PATH scan opens no file."""
    if not stat.S_ISREG(st.st_mode):
        return False
    ident = scancache.identity(st)
    kind = scancache.STORE.get(ident, "etype")
    if not isinstance(kind, int):
        kind = elf_type(path)
        scancache.STORE.put(ident, "etype", -1 if kind is None else kind)
    return kind == ET_DYN or (kind == ET_EXEC and bool(st.st_mode & stat.S_IXUSR))


def path_executables() -> list[str]:
    """Every ELF executable in the directories of $PATH, by the name each directory
    gives it (what `-l 'usdt:*:*'` searches without -p, as bpftrace does), sorted."""
    found: set[str] = set()
    for d in os.environ.get("PATH", "").split(":"):
        try:
            names = os.listdir(d) if d else []
        except OSError:
            continue
        for name in names:
            full = os.path.join(d, name)
            if full in found:
                continue
            try:
                st = os.stat(full)
            except OSError:
                continue
            if _probeable_stat(full, st):
                found.add(full)
    return sorted(found)


def _process_path(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = f.read().split(b"\0")
    except OSError:
        return []
    for item in env:
        if item.startswith(b"PATH="):
            return item[5:].decode(errors="replace").split(":")
    return []


# ------------------------------------------------------------------ libraries
def library_stem(target: str) -> str | None:
    """`libc` -> 'c', `libssl.so.3` -> 'ssl.so.3'; None when not a library name."""
    if "/" in target or not target.startswith("lib") or len(target) == 3:
        return None
    return target[3:]


def _soname_matches(stem: str, name: str) -> bool:
    """A versioned name (`ssl.so.3`) matches exactly; a bare one (`c`) any `libc.so*`."""
    if ".so." in stem:
        return name == f"lib{stem}"
    prefix = f"lib{stem.removesuffix('.so')}.so"
    return name == prefix or name.startswith(prefix + ".")


def _in_maps(stem: str, pid: int) -> str | None:
    """The library process `pid` really mapped (its own path)."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            paths = [ln.split(None, 5)[5].strip() for ln in f if len(ln.split(None, 5)) == 6]
    except OSError:
        return None
    for path in paths:
        if path.startswith("/") and _soname_matches(stem, os.path.basename(path)):
            return path
    bare = stem.split(".so", 1)[0]
    for path in paths:  # libfoo-2.31.so style names
        if path.startswith("/") and os.path.basename(path).startswith(f"lib{bare}-") \
                and ".so" in path:
            return path
    return None


def _in_dirs(stem: str, dirs: list[str], root: str) -> str | None:
    for d in dirs:
        try:
            names = sorted(os.listdir(root + d))
        except OSError:
            continue
        for name in names:
            if _soname_matches(stem, name) and probeable(f"{root}{d}/{name}"):
                return os.path.join(d, name)
    return None


def find_library(stem: str, pid: int | None) -> str | None:
    """A library's path (as the process sees it) for a name stem, bpftrace's order:
    the -p process's mappings, the linker cache, LD_LIBRARY_PATH, standard dirs."""
    root = root_of(pid)
    if pid is not None:
        mapped = _in_maps(stem, pid)
        if mapped is not None and probeable(root + mapped):
            return mapped
    from pytrace.probes import ldcache  # lazy: it imports subprocess

    for soname, path in ldcache.entries(root + ldcache.LD_SO_CACHE):
        if _soname_matches(stem, soname) and probeable(root + path):
            return path
    env = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    return _in_dirs(stem, env + list(LIB_DIRS), root)


# ------------------------------------------------------------------ targets
def not_found(kind: str, target: str) -> ProbeError:
    return ProbeError(f"{kind} target file '{target}' does not exist or is not executable",
                      "give a path to an ELF binary or library, a command in $PATH "
                      "or a library name such as 'libc'")


def _candidates(target: str, pid: int | None) -> list[str]:
    """The paths a command or path may mean, in lookup order (the process's own view)."""
    out = [target]
    if "/" not in target:
        dirs = _process_path(pid) if other_mount_ns(pid) and pid is not None \
            else os.environ.get("PATH", "").split(":")
        out.extend(os.path.join(d, target) for d in dirs if d)
    return out


def _one(kind: str, target: str, pid: int | None, unsafe: bool) -> Binary:
    root = root_of(pid)
    for cand in _candidates(target, pid):
        full = root + (cand if cand.startswith("/") or not root else "/" + cand)
        if probeable(full, unsafe=unsafe):
            return Binary(full, full)
    stem = library_stem(target)
    found = find_library(stem, pid) if stem is not None else None
    if found is None:
        raise not_found(kind, target)
    return Binary(root + found, root + found)


def _glob(kind: str, target: str, pid: int | None, unsafe: bool) -> list[Binary]:
    root = root_of(pid)
    found: dict[str, Binary] = {}
    for cand in _candidates(target, pid):
        for full in sorted(globlib.glob(root + cand)):
            if probeable(full, unsafe=unsafe):
                found.setdefault(full, Binary(full, full))
    if pid is not None:
        for own in match(target, mapped_files(pid)):
            found.setdefault(root + own, Binary(root + own, root + own))
    if not found:
        raise not_found(kind, target)
    return [found[k] for k in sorted(found)]


def _everything(kind: str, pid: int | None) -> list[Binary]:
    if pid is None:
        paths = sorted(set(every_mapped_file().values()))
    else:
        paths = sorted(root_of(pid) + own for own in mapped_files(pid))
    return [Binary(p, p) for p in paths]


def _archive(kind: str, target: str, pid: int | None, unsafe: bool) -> list[Binary]:
    split = archive.split(target)
    assert split is not None
    outer, member = split
    out = []
    for zip_bin in (_glob(kind, outer, pid, unsafe=True) if has_wildcard(outer)
                    else [_one(kind, outer, pid, unsafe=True)]):
        base = archive.member_offset(zip_bin.path, member)
        if not unsafe and elf_type(zip_bin.path, base) not in (ET_EXEC, ET_DYN):
            raise not_found(kind, target)
        out.append(Binary(f"{zip_bin.shown}{archive.SEPARATOR}{member}", zip_bin.path, base))
    return out


def resolve(kind: str, target: str, pid: int | None = None, unsafe: bool = False) -> list[Binary]:
    """Every file a uprobe/usdt target names; ProbeError when there is none.

    kind: 'uprobe' or 'usdt' (as bpftrace names it in the error)."""
    if not target:
        raise not_found(kind, target)
    if archive.split(target) is not None:
        return _archive(kind, target, pid, unsafe)
    if target == "*":
        found = _everything(kind, pid)
        if not found:
            raise not_found(kind, target)
        return found
    if has_wildcard(target):
        return _glob(kind, target, pid, unsafe)
    return [_one(kind, target, pid, unsafe)]
