"""User-space probe kinds: uprobe, uretprobe and usdt, resolved from ELF files.

Targets are resolved by pytrace.probes.userpaths (paths, $PATH commands, library
names, `-p` processes in any mount namespace, globs, zip archive members). Functions
come from pytrace.probes.elfsyms and are checked as bpftrace checks them:

- `FUNC`: a function of that name; one whose symbol has size 0 cannot be bounded, so
  it is refused without --unsafe (skipped with a warning when a wildcard matched it).
- `FUNC+OFF`: OFF must lie inside the function.
- `ADDR` (a number): a virtual address inside some sized function (`Could not resolve
  address` otherwise, unless --unsafe); its probe name spells the address in decimal.
- uretprobes attach at a function's entry only.
- `cpp:NAME`: C++ functions by demangled name (pytrace.probes.demangle), a glob too.
- `BIN@FILE:LINE[:COL]`: the first address of that statement in the DWARF line table
  (pytrace.probes.srcline), named as written.
- `FUNC+OFF` and an address inside a function must start an instruction (x86-64
  length decoding in pytrace.probes.x86len), unless --unsafe.

The attach offset is the file offset (st_value - p_vaddr + p_offset), plus the ELF's
own offset inside an archive. usdt probes expand to one target per note (a probe used
in N places attaches N times, as bpftrace counts them).
"""

from __future__ import annotations

import struct

from pytrace.frozen import frozen
from pytrace.probes import userpaths
from pytrace.probes.base import (
    U64_MAX,
    ProbeContext,
    ProbeError,
    has_wildcard,
    match,
    split_offset,
    suggest,
)
from pytrace.probes.elfsyms import ElfImage, Symbol, image, lookup
from pytrace.probes.target import ProbeTarget
from pytrace.probes.usdtnotes import UsdtNote, notes
from pytrace.probes.userpaths import Binary
from pytrace.resources import ProgType


def resolve_path(path: str, pid: int | None = None) -> str:
    """An openable path for a binary path, command or library name (the first match)."""
    return userpaths.resolve("uprobe", path, pid)[0].path


def elf_symbols(path: str) -> dict[str, int]:
    """Defined function symbols of an ELF file -> file offsets."""
    img = image(path)
    out = {}
    for name, sym in img.functions.items():
        off = img.file_offset(sym.addr)
        if off is not None:
            out[name] = off
    return out


def usdt_notes(path: str) -> tuple[tuple[str, str, int, int, str], ...]:
    """(provider, name, file offset, semaphore file offset or 0, argument spec) per note."""
    return tuple((n.provider, n.name, n.offset, n.semaphore, n.args) for n in notes(path))


def _kind_word(kind: str) -> str:
    return "usdt" if kind == "usdt" else "uprobe"


def _binaries(kind: str, target: str, ctx: ProbeContext) -> list[Binary]:
    return userpaths.resolve(_kind_word(kind), target, ctx.pid, ctx.unsafe)


@frozen
class _Site:
    """Where one uprobe goes: the binary, the function (if known), the offset into it."""

    binary: Binary
    func: str
    offset: int  # file offset inside binary.path
    name: str  # the probe's full name


def _target(kind: str, site: _Site, ctx: ProbeContext, **extra: str | int) -> ProbeTarget:
    attach: dict[str, str | int] = {"path": site.binary.path, "offset": site.offset,
                                    "retprobe": 1 if kind == "uretprobe" else 0, **extra}
    if ctx.pid is not None:
        attach["pid"] = ctx.pid
    return ProbeTarget(kind, site.name, ProgType.KPROBE, attach, user_pointers=True,
                       func=site.func)


def _no_symbol(binary: Binary, func: str, img: ElfImage) -> ProbeError:
    hints = list(suggest(func, img.functions))
    if not img.has_symtab:
        hints.append(f"'{binary.shown}' is stripped: only its {len(img.functions)} dynamic "
                     "(.dynsym) functions can be probed by name")
    hints.append(f"list the functions with: pytrace -l 'uprobe:{binary.shown}:*'")
    return ProbeError(f"Could not resolve symbol: {binary.shown}:{func}", *hints)


def _bounded(kind: str, sym: Symbol, extra: int | None, explicit: bool,
             ctx: ProbeContext) -> bool:
    """bpftrace's checks of a function and an offset into it (None: no `+OFF` written;
    `+0` attaches at the start of a function of unknown size); False: skip (warned)."""
    if kind == "uretprobe" and extra:
        raise ProbeError("uretprobes cannot be attached at function offset. "
                         f"(address resolved to: {sym.name}+{extra})")
    if sym.size == 0 and not extra:
        if ctx.unsafe or extra == 0:
            return True
        msg = f"Could not determine boundary for {sym.name} (symbol has size 0)."
        if explicit:
            raise ProbeError(msg + " Use --unsafe to force attachment.",
                             f"or give the offset explicitly: {sym.name}+0")
        ctx.warnings.append(msg + " Skipping attachment (use --unsafe to force attachment).")
        return False
    if extra is not None and extra >= sym.size:
        raise ProbeError(f"Offset outside the function bounds ('{sym.name}' size is "
                         f"{sym.size})")
    return True


def _offset_of(binary: Binary, img: ElfImage, vaddr: int) -> int:
    off = img.file_offset(vaddr)
    return binary.base + (vaddr if off is None else off)


def _address_site(kind: str, binary: Binary, text: str, ctx: ProbeContext) -> _Site:
    try:
        addr = int(text, 0)
    except ValueError:
        addr = -1
    if not 0 <= addr <= U64_MAX:
        raise ProbeError(f"invalid address '{text}'")
    img = image(binary.path, binary.base)
    name = f"{kind}:{binary.shown}:{addr}"
    sym = img.containing(addr)
    if sym is None:
        if not ctx.unsafe:
            raise ProbeError(f"Could not resolve address: {binary.shown}:{addr:#x}")
        ctx.warnings.append(f"Could not determine instruction boundary for {name} (binary "
                            "appears stripped). Misaligned probes can lead to tracee crashes!")
        return _Site(binary, "", _offset_of(binary, img, addr), name)
    _bounded(kind, sym, addr - sym.addr or None, True, ctx)
    if addr != sym.addr and not ctx.unsafe:
        check_instruction_boundary(binary, sym.name, _offset_of(binary, img, sym.addr),
                                   addr - sym.addr)
    return _Site(binary, sym.name, _offset_of(binary, img, addr), name)


def _function_sites(kind: str, binary: Binary, func: str, extra: int | None,
                    ctx: ProbeContext, single: bool) -> list[_Site]:
    wild = has_wildcard(func)
    img = image(binary.path, binary.base) if wild else lookup(binary.path, binary.base, func)
    names = match(func, img.functions) if wild else ([func] if func in img.functions else [])
    if wild:  # `f@@VER` where `f` is the same function: one probe, under its plain name
        chosen = set(names)
        names = [n for n in names if "@" not in n or n.split("@", 1)[0] not in chosen
                 or img.functions[n.split("@", 1)[0]].addr != img.functions[n].addr]
    if not names and single and not wild:
        raise _no_symbol(binary, func, image(binary.path, binary.base))
    suffix = f"+{extra}" if extra else ""
    out = []
    for n in names:
        sym = img.functions[n]
        if _bounded(kind, sym, extra, not wild and single, ctx):
            start = _offset_of(binary, img, sym.addr)
            if extra and not ctx.unsafe:
                check_instruction_boundary(binary, n, start, extra)
            out.append(_Site(binary, n, start + (extra or 0),
                             f"{kind}:{binary.shown}:{n}{suffix}"))
    return out


def source_location(parts: list[str]) -> tuple[str, str, int, int | None] | None:
    """`BIN@FILE:LINE[:COL]` -> (BIN, FILE, LINE, COL); None for other attach points."""
    if len(parts) not in (2, 3) or "@" not in parts[0] or not all(p.isdigit() for p in parts[1:]):
        return None
    binary, _, source = parts[0].rpartition("@")
    if not binary or not source:
        return None
    return binary, source, int(parts[1]), int(parts[2]) if len(parts) == 3 else None


def _line_sites(kind: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    from pytrace.probes.srcline import statement_address

    loc = source_location(parts)
    assert loc is not None
    target, source, line, column = loc
    if kind == "uretprobe":
        raise ProbeError("uretprobes cannot be attached to a source location",
                         "use uprobe:BIN@FILE:LINE, or uretprobe:BIN:FUNCTION")
    where = f"{source}:{line}" + (f":{column}" if column is not None else "")
    out = []
    for b in _binaries(kind, target, ctx):
        addr = statement_address(b.path, source, line, column)
        if addr is None:
            raise ProbeError(f"Could not resolve source location {where} in {b.shown}",
                             "it must be a line (and column) of a statement of that file, "
                             "as the binary's DWARF line table has it")
        img = image(b.path, b.base)
        sym = img.containing(addr)
        out.append(_target(kind, _Site(b, sym.name if sym else "", _offset_of(b, img, addr),
                                       f"{kind}:{b.shown}@{where}"), ctx))
    return out


def _cpp_sites(kind: str, binary: Binary, pattern: str, ctx: ProbeContext,
               single: bool) -> list[_Site]:
    """`cpp:NAME`: functions whose demangled name (without its parameters unless NAME
    has some) matches NAME."""
    from pytrace.probes.demangle import available, demangle, without_parameters

    if not available():
        raise ProbeError("C++ names cannot be demangled: libstdc++ (__cxa_demangle) was not "
                         "found", "give the mangled name instead (nm BIN)")
    img = image(binary.path, binary.base)
    wild = has_wildcard(pattern)
    out = []
    for name, sym in sorted(img.functions.items()):
        full = demangle(name)
        if full is None or "@" in name:
            continue
        key = full if "(" in pattern else without_parameters(full)
        if match(pattern, [key]) and _bounded(kind, sym, None, not wild and single, ctx):
            out.append(_Site(binary, full, _offset_of(binary, img, sym.addr),
                             f"{kind}:{binary.shown}:cpp:{key}"))
    return out


def _uprobe(kind: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    if source_location(parts) is not None:
        return _line_sites(kind, parts, ctx)
    if len(parts) == 3 and parts[1] == "cpp" and parts[0] and parts[2]:
        binaries = _binaries(kind, parts[0], ctx)
        sites = [s for b in binaries
                 for s in _cpp_sites(kind, b, parts[2], ctx, len(binaries) == 1)]
        if not sites:
            raise ProbeError(f"Could not resolve symbol: {parts[0]}:cpp:{parts[2]}",
                             "cpp: matches demangled names, e.g. cpp:\"ns::Class::method\"")
        return [_target(kind, s, ctx) for s in sites]
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise ProbeError(f"invalid {kind} attach point", f"expected {kind}:PATH:FUNCTION")
    binaries = _binaries(kind, parts[0], ctx)
    if parts[1][:1].isdigit():
        return [_target(kind, _address_site(kind, b, parts[1], ctx), ctx) for b in binaries]
    func, off = split_offset(parts[1])
    extra = off if "+" in parts[1] else None
    single = len(binaries) == 1
    warned = len(ctx.warnings)
    sites = [s for b in binaries for s in _function_sites(kind, b, func, extra, ctx, single)]
    if not sites and len(ctx.warnings) == warned:
        if single:
            raise _no_symbol(binaries[0], func, image(binaries[0].path, binaries[0].base))
        raise ProbeError(f"Could not resolve symbol: {parts[0]}:{parts[1]}",
                         f"none of the {len(binaries)} files matching '{parts[0]}' has it")
    return [_target(kind, s, ctx) for s in sites]


EM_X86_64 = 62
MAX_INSN = 15


def check_instruction_boundary(binary: Binary, func: str, file_offset: int, extra: int) -> None:
    """Refuse `func+extra` unless an instruction starts there (as bpftrace does): a
    breakpoint inside an instruction corrupts the traced program. --unsafe skips this.
    `file_offset` is where func starts in binary.path (an archive member's base included)."""
    from pytrace.probes.x86len import DecodeError, is_boundary

    where = f"{binary.shown}:{func}+{extra}"
    try:
        with open(binary.path, "rb") as f:
            f.seek(binary.base)
            header = f.read(20)
            f.seek(file_offset)
            code = f.read(extra + MAX_INSN)
    except OSError as e:
        raise ProbeError(f"cannot read '{binary.shown}': {e.strerror}") from None
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


# ------------------------------------------------------------------ usdt
def _usdt_matches(binary: Binary, provider: str | None, probe: str) -> list[UsdtNote]:
    found = [n for n in notes(binary.path, binary.base) if match(probe, [n.name])]
    if provider is not None:
        return [n for n in found if match(provider, [n.provider])]
    providers = sorted({n.provider for n in found})
    if len(providers) > 1 and not has_wildcard(probe):
        raise ProbeError(f"namespace for usdt:{binary.shown}:{probe} not specified, matched "
                         f"{len(providers)} probes",
                         "please specify a unique namespace or use '*' to attach to all "
                         "matched probes")
    return found


def _usdt_missing(parts: list[str], binaries: list[Binary], probe: str) -> ProbeError:
    all_notes = [n for b in binaries for n in notes(b.path, b.base)]
    hints = list(suggest(probe, [n.name for n in all_notes]))
    shown = binaries[0].shown if len(binaries) == 1 else parts[0]
    hints.append(f"list them with: pytrace -l 'usdt:{shown}:*'" if all_notes
                 else f"'{shown}' has no USDT probes (.note.stapsdt section)")
    return ProbeError(f"USDT probe not found: {':'.join(parts)}", *hints)


def _usdt_target(binary: Binary, note: UsdtNote, ctx: ProbeContext) -> ProbeTarget:
    name = f"usdt:{binary.shown}:{note.provider}:{note.name}"
    extra: dict[str, str | int] = {"args": note.args}
    if note.semaphore:
        extra["ref_ctr_offset"] = binary.base + note.semaphore
    site = _Site(binary, note.name, binary.base + note.offset, name)
    return _target("usdt", site, ctx, **extra)


def parse_usdt(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    if len(parts) not in (2, 3) or not all(parts):
        raise ProbeError("invalid usdt attach point", "expected usdt:PATH:[PROVIDER:]PROBE")
    binaries = _binaries("usdt", parts[0], ctx)
    provider = parts[1] if len(parts) == 3 else None
    out = [_usdt_target(b, n, ctx) for b in binaries
           for n in _usdt_matches(b, provider, parts[-1])]
    if not out:
        raise _usdt_missing(parts, binaries, parts[-1])
    return out
