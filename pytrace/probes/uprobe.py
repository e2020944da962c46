"""User-space probe kinds: uprobe, uretprobe and usdt, resolved from ELF files.

Paths are found as given, in $PATH, or as library names (`libc`) through
`ldconfig -p` and the standard library directories. Symbols come from .symtab and
.dynsym; the attach offset is the file offset (st_value - p_vaddr + p_offset).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from functools import lru_cache

from pytrace.probes.base import (
    U64_MAX,
    ProbeContext,
    ProbeError,
    has_wildcard,
    match,
    split_offset,
    suggest,
)
from pytrace.probes.target import ProbeTarget
from pytrace.resources import ProgType

LIB_DIRS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
            "/lib", "/usr/lib", "/usr/local/lib")


@lru_cache(maxsize=1)
def _ldconfig() -> tuple[tuple[str, str], ...]:
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True,
                             timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    pairs = []
    for line in out.splitlines()[1:]:
        if "=>" in line:
            left, right = line.split("=>", 1)
            pairs.append((left.split()[0].strip(), right.strip()))
    return tuple(pairs)


def _mapped_library(stem: str, pid: int) -> str | None:
    """The file of process `pid` whose name starts `stem.so` (as it really mapped it)."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                fields = line.split(None, 5)
                if len(fields) == 6 and os.path.basename(fields[5].strip()).startswith(
                        f"{stem}.so") and os.path.isfile(fields[5].strip()):
                    return fields[5].strip()
    except OSError:
        pass
    return None


def resolve_path(path: str, pid: int | None = None) -> str:
    """An existing absolute path for a binary path, command or library name.

    Library names (`libc`, `libm.so.6`) resolve through the target process's own
    mappings when a pid is given, then `ldconfig -p`, then the standard directories.
    """
    if "/" in path:
        if os.path.isfile(path):
            return os.path.realpath(path) if os.path.islink(path) else path
        raise ProbeError(f"uprobe target file '{path}' does not exist or is not executable",
                         "give a path to an ELF binary or library, a command in $PATH "
                         "or a library name such as 'libc'")
    found = shutil.which(path)
    if found:
        return found
    stem = path if path.startswith("lib") else f"lib{path}"
    stem = stem.split(".so", 1)[0]
    mapped = _mapped_library(stem, pid) if pid is not None else None
    if mapped:
        return mapped
    for soname, full in _ldconfig():
        if soname == f"{stem}.so" or soname.startswith(f"{stem}.so."):
            return full
    for d in LIB_DIRS:
        for cand in (f"{stem}.so", f"{stem}.so.6", f"{stem}.so.1", f"{stem}.so.0"):
            full = os.path.join(d, cand)
            if os.path.isfile(full):
                return full
    raise ProbeError(f"uprobe target '{path}' not found in $PATH or the library paths",
                     "give the full path of the binary or library")


@lru_cache(maxsize=32)
def elf_symbols(path: str) -> dict[str, int]:
    """Defined function symbols of an ELF file -> file offsets."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
            out: dict[str, int] = {}
            for secname in (".dynsym", ".symtab"):
                sec = elf.get_section_by_name(secname)
                if sec is None or not hasattr(sec, "iter_symbols"):
                    continue
                for sym in sec.iter_symbols():
                    if (sym["st_info"]["type"] in ("STT_FUNC", "STT_GNU_IFUNC")
                            and sym["st_shndx"] != "SHN_UNDEF" and sym.name
                            and sym["st_value"]):
                        off = vaddr_to_offset(loads, sym["st_value"])
                        if off is not None:
                            out.setdefault(sym.name.split("@")[0], off)
            return out
    except (OSError, ELFError, ValueError) as e:  # ValueError: a corrupt header's offsets
        raise ProbeError(f"cannot read ELF symbols of '{path}': {e}") from None


@lru_cache(maxsize=32)
def has_symtab(path: str) -> bool:
    """Whether the ELF file still has its full symbol table (is not stripped)."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open(path, "rb") as f:
            return ELFFile(f).get_section_by_name(".symtab") is not None
    except (OSError, ELFError, ValueError):
        return False


def address_offset(path: str, vaddr: int) -> int:
    """The file offset of a virtual address in the binary (the address if unmapped)."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open(path, "rb") as f:
            loads = [s for s in ELFFile(f).iter_segments() if s["p_type"] == "PT_LOAD"]
            off = vaddr_to_offset(loads, vaddr)
    except (OSError, ELFError, ValueError) as e:  # ValueError: a corrupt header's offsets
        raise ProbeError(f"cannot read ELF file '{path}': {e}") from None
    return vaddr if off is None else off


def vaddr_to_offset(loads: list, vaddr: int) -> int | None:  # type: ignore[type-arg]
    for seg in loads:
        if seg["p_vaddr"] <= vaddr < seg["p_vaddr"] + seg["p_memsz"]:
            return int(vaddr - seg["p_vaddr"] + seg["p_offset"])
    return None


def _no_symbol(path: str, func: str, syms: dict[str, int]) -> ProbeError:
    hints = list(suggest(func, syms))
    if not has_symtab(path):
        hints.append(f"'{path}' is stripped: only its {len(syms)} dynamic (.dynsym) "
                     "functions can be probed by name")
    hints.append(f"list the functions with: pytrace -l 'uprobe:{path}:*'")
    return ProbeError(f"Could not resolve symbol: {path}:{func}", *hints)


def _with_pid(attach: dict[str, str | int], ctx: ProbeContext) -> dict[str, str | int]:
    if ctx.pid is not None:
        attach["pid"] = ctx.pid
    return attach


def _uprobe(kind: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise ProbeError(f"invalid {kind} attach point", f"expected {kind}:PATH:FUNCTION")
    path = resolve_path(parts[0], ctx.pid)
    func, extra = split_offset(parts[1])
    retprobe = 1 if kind == "uretprobe" else 0
    if func[:1].isdigit():
        try:
            addr = int(func, 0)
        except ValueError:
            addr = -1
        if not 0 <= addr <= U64_MAX:
            raise ProbeError(f"invalid address '{func}'")
        off = address_offset(path, addr)
        return [ProbeTarget(kind, f"{kind}:{path}:{func}", ProgType.KPROBE,
                            _with_pid({"path": path, "offset": off + extra,
                                       "retprobe": retprobe}, ctx),
                            user_pointers=True)]
    syms = elf_symbols(path)
    names = match(func, syms) if has_wildcard(func) else ([func] if func in syms else [])
    if not names:
        raise _no_symbol(path, func, syms)
    if extra and not ctx.unsafe:
        for n in names:
            check_instruction_boundary(path, n, syms[n], extra)
    return [ProbeTarget(kind, f"{kind}:{path}:{n}" + (f"+{extra}" if extra else ""),
                        ProgType.KPROBE,
                        _with_pid({"path": path, "offset": syms[n] + extra,
                                   "retprobe": retprobe}, ctx),
                        user_pointers=True, func=n) for n in names]


EM_X86_64 = 62
MAX_INSN = 15


def check_instruction_boundary(path: str, func: str, file_offset: int, extra: int) -> None:
    """Refuse `func+extra` unless an instruction starts there (as bpftrace does): a
    breakpoint inside an instruction corrupts the traced program. --unsafe skips this."""
    from pytrace.probes.x86len import DecodeError, is_boundary

    where = f"{path}:{func}+{extra}"
    try:
        with open(path, "rb") as f:
            header = f.read(20)
            f.seek(file_offset)
            code = f.read(extra + MAX_INSN)
    except OSError as e:
        raise ProbeError(f"cannot read '{path}': {e.strerror}") from None
    machine = struct.unpack_from("<H", header, 18)[0] if len(header) >= 20 else 0
    if machine != EM_X86_64:
        raise ProbeError(f"Can't check if uprobe is in proper place (not x86-64 code): {where}",
                         "use --unsafe to place it anyway")
    try:
        ok = is_boundary(code + b"\0" * MAX_INSN, extra)
    except (DecodeError, IndexError):
        ok = False
    if not ok:
        raise ProbeError(f"Could not add uprobe into middle of instruction: {where}",
                         "use --unsafe to place it anyway")


def parse_uprobe(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    return _uprobe("uprobe", parts, ctx)


def parse_uretprobe(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    return _uprobe("uretprobe", parts, ctx)


@lru_cache(maxsize=32)
def usdt_notes(path: str) -> tuple[tuple[str, str, int, int, str], ...]:
    """(provider, name, file offset, semaphore file offset or 0, argument spec) per
    .note.stapsdt entry; the spec is the note's text, e.g. '-4@%eax 8@-8(%rbp)'."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            sec = elf.get_section_by_name(".note.stapsdt")
            if sec is None:
                return ()
            base_sec = elf.get_section_by_name(".stapsdt.base")
            loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
            out = []
            for note in sec.iter_notes():  # type: ignore[attr-defined]
                if note["n_name"] != "stapsdt":
                    continue
                desc = note["n_descdata"]
                if isinstance(desc, str):
                    desc = desc.encode("latin-1")
                pc, base, sem = struct.unpack_from("<QQQ", desc, 0)
                strs = desc[24:].split(b"\0")
                if base_sec is not None:
                    pc += base_sec["sh_addr"] - base
                    sem += base_sec["sh_addr"] - base if sem else 0
                off = vaddr_to_offset(loads, pc)
                sem_off = (vaddr_to_offset(loads, sem) or 0) if sem else 0
                if off is not None and len(strs) >= 2:
                    args = strs[2].decode() if len(strs) > 2 else ""
                    out.append((strs[0].decode(), strs[1].decode(), off, sem_off, args))
            return tuple(out)
    except (OSError, ELFError, ValueError, struct.error) as e:
        raise ProbeError(f"cannot read USDT notes of '{path}': {e}") from None


def parse_usdt(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    if len(parts) not in (2, 3) or not all(parts):
        raise ProbeError("invalid usdt attach point", "expected usdt:PATH:[PROVIDER:]PROBE")
    path = resolve_path(parts[0], ctx.pid)
    provider = parts[1] if len(parts) == 3 else "*"
    probe = parts[-1]
    notes = usdt_notes(path)
    found = [n for n in notes if match(provider, [n[0]]) and match(probe, [n[1]])]
    if not found:
        hints = list(suggest(probe, [n[1] for n in notes]))
        hints.append(f"list them with: pytrace -l 'usdt:{path}:*'" if notes
                     else f"'{path}' has no USDT probes (.note.stapsdt section)")
        raise ProbeError(f"USDT probe not found: {':'.join(parts)}", *hints)
    out = []
    for prov, name, off, sem, args in found:
        attach: dict[str, str | int] = {"path": path, "offset": off, "retprobe": 0,
                                        "args": args}
        if sem:
            attach["ref_ctr_offset"] = sem
        out.append(ProbeTarget("usdt", f"usdt:{path}:{prov}:{name}", ProgType.KPROBE,
                               _with_pid(attach, ctx), user_pointers=True, func=name))
    return out
