"""Create maps and load programs from a compiled BpfObject; own every resulting fd.

Relocations are patched here: an ld_imm64 against a map global gets
src_reg=BPF_PSEUDO_MAP_FD and imm=fd; one against a read-only data section (.rodata*)
gets src_reg=BPF_PSEUDO_MAP_VALUE against a frozen one-entry array holding the section.
Static subprograms (bpf_for_each_map_elem callbacks, BPF-to-BPF calls) are appended to
each program that uses them (elf.link_program); the verifier then needs BTF func_info
("missing btf func_info" otherwise), which is generated here: one FUNC per function.
Program groups can be added and removed later while the maps stay (the REPL needs it).
"""

from __future__ import annotations

import errno
import os
import re
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence

from pytrace.frozen import frozen
from pytrace.resources import BpfObject, MapKind, MapSpec, ProbeSpec
from pytrace.runtime import syscalls as sc
from pytrace.runtime.elf import (
    BpfElf,
    ElfError,
    Relocation,
    SubprogInfo,
    link_program,
    parse_bpf_elf,
)
from pytrace.runtime.errors import FeatureUnavailable, RuntimeFailure, VerifierError
from pytrace.runtime.features import TRAMPOLINE_ERRNOS, trampoline_refusal
from pytrace.runtime.syscalls import enable_stats, prog_stats

__all__ = ["LoadSettings", "LoadedObject", "LoadedProgram", "create_map", "load_program", "patch_relocations",
           "kernel_name", "possible_cpus", "enable_stats", "prog_stats", "func_btf"]

BPF_PSEUDO_MAP_FD = 1
BPF_PSEUDO_MAP_VALUE = 2
BPF_PSEUDO_BTF_ID = 3
LOG_SIZE = 1 << 20
MAX_FULL_NAME = 127  # a program's whole name in BTF (bpftool reads up to 128 bytes)
# -v / -d verifier: called with (probe, program fd, verifier log) after each load.
LogSink = Callable[[ProbeSpec, int, str], None]
_log_sink: tuple[LogSink, int] | None = None


def set_log_sink(sink: LogSink | None, level: int = 1) -> None:
    """Report every successful load with its verifier log (level 1: the summary,
    2: the whole trace); None stops it."""
    global _log_sink
    _log_sink = (sink, level) if sink is not None else None
BTF_LOAD = 18
_BTF_INT, _BTF_PTR, _BTF_FUNC, _BTF_FUNC_PROTO = 1, 2, 12, 13
_NAME_BAD = re.compile(r"[^A-Za-z0-9_.]")


def kernel_name(name: str) -> str:
    """A kernel object name: at most 15 chars of [A-Za-z0-9_.]."""
    return _NAME_BAD.sub("_", name.lstrip("@") or "map")[:15]


def possible_cpus() -> int:
    """Number of possible CPUs (from /sys/devices/system/cpu/possible)."""
    try:
        with open("/sys/devices/system/cpu/possible") as f:
            text = f.read().strip()
    except OSError:
        return os.cpu_count() or 1
    count = 0
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        count += (int(hi) - int(lo) + 1) if hi else 1
    return count


def create_map(spec: MapSpec) -> int:
    """BPF_MAP_CREATE for one MapSpec; return its fd."""
    max_entries = spec.max_entries
    if spec.kind == MapKind.PERF_EVENT_ARRAY and max_entries == 0:
        max_entries = possible_cpus()
    attr = sc.new_attr()
    struct.pack_into("<IIIII", attr, 0, int(spec.kind), spec.key_size, spec.value_size,
                     max_entries, 0)
    name = kernel_name(spec.name).encode()
    attr[28:28 + len(name)] = name
    try:
        return sc.bpf(sc.MAP_CREATE, attr)
    except OSError as exc:
        raise RuntimeFailure(f"cannot create map {spec.name} ({spec.kind.name}, "
                             f"{max_entries} entries): {os.strerror(exc.errno or 0)}") from None


def _create_rodata_map(section: str, data: bytes) -> int:
    """A frozen one-entry array holding a read-only data section."""
    spec = MapSpec(section, section, MapKind.ARRAY, 4, max(len(data), 1), 1)
    fd = create_map(spec)
    try:
        key, val = sc.Buffer(b"\0\0\0\0"), sc.Buffer(data.ljust(spec.value_size, b"\0"))
        attr = sc.new_attr()
        struct.pack_into("<IIQQQ", attr, 0, fd, 0, key.addr, val.addr, 0)
        sc.bpf(sc.MAP_UPDATE_ELEM, attr, "BPF_MAP_UPDATE_ELEM")
        attr = sc.new_attr()
        struct.pack_into("<I", attr, 0, fd)
        sc.bpf(sc.MAP_FREEZE, attr, "BPF_MAP_FREEZE")
    except OSError as exc:
        sc.close_fd(fd)
        raise RuntimeFailure(f"cannot load {section} into a map: {exc.strerror}") from None
    return fd


def patch_relocations(code: bytes, relocs: Iterable[Relocation], map_fds: Mapping[str, int],
                      data_fds: Mapping[str, int], section: str,
                      ksyms: Mapping[str, int] | None = None) -> bytes:
    """Patch every ld_imm64 relocation; refuse targets that are neither maps, data nor
    kernel variables (ksyms: their vmlinux BTF ids)."""
    buf = bytearray(code)
    for r in relocs:
        off = r.offset
        if ksyms and r.symbol.name in ksyms and r.symbol.section == "":
            buf[off + 1] = (buf[off + 1] & 0x0F) | (BPF_PSEUDO_BTF_ID << 4)
            struct.pack_into("<i", buf, off + 4, ksyms[r.symbol.name])
            struct.pack_into("<i", buf, off + 12, 0)  # the BTF object: vmlinux
        elif r.symbol.name in map_fds and r.symbol.type != 3:
            buf[off + 1] = (buf[off + 1] & 0x0F) | (BPF_PSEUDO_MAP_FD << 4)
            struct.pack_into("<i", buf, off + 4, map_fds[r.symbol.name])
        elif r.symbol.section in data_fds:
            addend = struct.unpack_from("<i", buf, off + 4)[0]
            buf[off + 1] = (buf[off + 1] & 0x0F) | (BPF_PSEUDO_MAP_VALUE << 4)
            struct.pack_into("<i", buf, off + 4, data_fds[r.symbol.section])
            struct.pack_into("<i", buf, off + 12, r.symbol.value + addend)
        else:
            raise ElfError(f"relocation in section {section} at offset {off} refers to "
                           f"'{r.target}', which is neither a map nor read-only data")
    return bytes(buf)


def func_btf(functions: Sequence[SubprogInfo],
             main_name: str = "") -> tuple[bytes, list[int]]:
    """A minimal BTF blob for func_info: `long` and `void *`, a prototype for programs
    (one argument) and one for callbacks (four), and a FUNC per function (the main one
    global, subprograms static). `main_name` names the main FUNC and the main's own
    sub-programs (the probe's whole name, which the kernel's 15-character program name
    cuts: what `fentry:bpf` probes and bpftool show), else the symbols do. Returns the
    blob and each function's type id."""
    strings = bytearray(b"\0")

    def name(text: str) -> int:
        off = len(strings)
        strings.extend(re.sub(r"[^A-Za-z0-9_]", "_", text).encode() + b"\0")
        return off

    def btf_type(name_off: int, kind: int, vlen: int, size_or_type: int) -> bytes:
        return struct.pack("<III", name_off, (kind << 24) | vlen, size_or_type)

    types = btf_type(name("long"), _BTF_INT, 0, 8) + struct.pack("<I", (1 << 24) | 64)  # 1
    types += btf_type(0, _BTF_PTR, 0, 0)  # 2: void *
    types += btf_type(0, _BTF_FUNC_PROTO, 1, 1) + struct.pack("<II", name("ctx"), 2)  # 3
    types += btf_type(0, _BTF_FUNC_PROTO, 4, 1)  # 4: long cb(map, key, value, ctx)
    for arg in ("map", "key", "value", "data"):
        types += struct.pack("<II", name(arg), 2)
    main_sym = next((fn.name for fn in functions if fn.main), "")
    ids = []
    for i, fn in enumerate(functions):
        ids.append(5 + i)
        shown = _shown_name(fn, main_sym, main_name)
        types += btf_type(name(shown), _BTF_FUNC, 1 if fn.main else 0, 3 if fn.main else 4)
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    return header + types + bytes(strings), ids


def _shown_name(fn: SubprogInfo, main_sym: str, main_name: str) -> str:
    """A function's BTF name: the main one is `main_name`, and a sub-program of its own
    (`prog_3_for`) carries it too (`interval_s_1_for`); shared helpers keep theirs."""
    if not main_name:
        return fn.name
    if fn.main:
        return main_name
    if main_sym and fn.name.startswith(main_sym + "_"):
        return main_name + fn.name[len(main_sym):]
    return fn.name


def _load_btf(blob: bytes) -> int:
    data, log = sc.Buffer(blob), sc.Buffer(LOG_SIZE)
    attr = sc.new_attr()
    struct.pack_into("<QQIII", attr, 0, data.addr, log.addr, len(blob), LOG_SIZE, 1)
    fd, err = sc.bpf_errno(BTF_LOAD, attr)
    if fd < 0:
        text = log.raw.value.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeFailure(f"cannot load BTF for a program's functions: {os.strerror(err)}"
                             + (f" ({text[-1]})" if text else ""))
    return fd


@frozen
class _FuncInfo:
    """BTF fd and func_info records for a program with subprograms."""

    btf_fd: int
    records: sc.Buffer
    count: int


def program_name(probe: ProbeSpec) -> str:
    """A probe's name as a C identifier ('tracepoint_syscalls_sys_enter_read')."""
    return re.sub(r"[^A-Za-z0-9]+", "_", probe.name)[:MAX_FULL_NAME]


def _func_info(functions: Sequence[SubprogInfo], main_name: str = "") -> _FuncInfo | None:
    if len(functions) < 2:
        return None
    blob, ids = func_btf(functions, main_name)
    fd = _load_btf(blob)
    records = b"".join(struct.pack("<II", fn.insn, tid) for fn, tid in zip(functions, ids))
    return _FuncInfo(fd, sc.Buffer(records), len(functions))


def _prog_attr(probe: ProbeSpec, insns: sc.Buffer, count: int, lic: sc.Buffer,
               funcs: _FuncInfo | None = None, btf_obj_fd: int = 0) -> bytearray:
    attr = sc.new_attr()
    struct.pack_into("<IIQQ", attr, 0, int(probe.prog_type), count, insns.addr, lic.addr)
    name = kernel_name(program_name(probe)).encode()
    attr[48:48 + len(name)] = name
    struct.pack_into("<I", attr, 68, probe.expected_attach_type)
    if funcs is not None:  # prog_btf_fd, func_info_rec_size, func_info, func_info_cnt
        struct.pack_into("<IIQI", attr, 72, funcs.btf_fd, 8, funcs.records.addr, funcs.count)
    btf_id = probe.attach.get("btf_id", 0)
    # attach_btf_id, then attach_btf_obj_fd (a module's BTF) or attach_prog_fd (fentry:bpf)
    struct.pack_into("<II", attr, 108, int(btf_id), btf_obj_fd)
    return attr


@frozen
class LoadSettings:
    """How programs are loaded (the `license` and `log_size` config variables)."""

    license: str = "GPL"
    log_size: int = LOG_SIZE


DEFAULT_SETTINGS = LoadSettings()


def load_program(probe: ProbeSpec, code: bytes, functions: Sequence[SubprogInfo] = (),
                 settings: LoadSettings = DEFAULT_SETTINGS) -> int:
    """BPF_PROG_LOAD of relocated code; VerifierError (with the log) on rejection.

    `functions` (from elf.link_program) describes subprograms appended to the code."""
    funcs = _func_info(functions, program_name(probe))
    module = str(probe.attach.get("btf_module", ""))
    obj_fd = 0
    try:
        if module:
            from pytrace.runtime.modbtf import module_btf_fd

            obj_fd = module_btf_fd(module)
        elif "prog_id" in probe.attach:  # fentry:bpf: attach_prog_fd shares the field
            from pytrace.runtime.bpfprogs import target_prog_fd

            obj_fd = target_prog_fd(int(probe.attach["prog_id"]),
                                    int(probe.attach.get("prog_btf_id", 0)), probe.name)
        return _load(probe, code, funcs, settings, obj_fd)
    finally:
        if funcs is not None:
            sc.close_fd(funcs.btf_fd)
        if obj_fd > 0:
            sc.close_fd(obj_fd)


def _load_logged(probe: ProbeSpec, insns: sc.Buffer, count: int, lic: sc.Buffer,
                 funcs: _FuncInfo | None, obj_fd: int) -> int:
    """A load with the verifier log requested; the sink hears of a success."""
    assert _log_sink is not None
    sink, level = _log_sink
    log = sc.Buffer(LOG_SIZE)
    attr = _prog_attr(probe, insns, count, lic, funcs, obj_fd)
    struct.pack_into("<IIQ", attr, 24, level, LOG_SIZE, log.addr)
    fd, _ = sc.bpf_errno(sc.PROG_LOAD, attr)
    if fd >= 0:
        sink(probe, fd, log.raw.value.decode("utf-8", "replace"))
    return fd


def _load(probe: ProbeSpec, code: bytes, funcs: _FuncInfo | None,
          settings: LoadSettings = DEFAULT_SETTINGS, obj_fd: int = 0) -> int:
    insns, lic = sc.Buffer(code), sc.cstr(settings.license)
    if _log_sink is not None:
        fd = _load_logged(probe, insns, len(code) // 8, lic, funcs, obj_fd)
        if fd >= 0:
            return fd
    attr = _prog_attr(probe, insns, len(code) // 8, lic, funcs, obj_fd)
    fd, err = sc.bpf_errno(sc.PROG_LOAD, attr)
    if fd >= 0:
        return fd
    log_size = max(settings.log_size, 128)
    log = sc.Buffer(log_size)
    attr = _prog_attr(probe, insns, len(code) // 8, lic, funcs, obj_fd)
    struct.pack_into("<IIQ", attr, 24, 1, log_size, log.addr)
    fd, err2 = sc.bpf_errno(sc.PROG_LOAD, attr)
    if fd >= 0:  # loads with a log but not without: should not happen; accept it
        return fd
    text = log.raw.value.decode("utf-8", "replace")
    err = err2 if err2 != errno.ENOSPC else err
    if probe.kind in ("fentry", "fexit") and (err in TRAMPOLINE_ERRNOS or (
            err == errno.EPERM and not text.strip())):
        raise trampoline_refusal(probe.kind, f"loading the program for {probe.name}", err,
                                 not text.strip())
    if err == errno.EPERM and not text.strip():
        raise FeatureUnavailable(f"the kernel refused to load the program for {probe.name} "
                                 "(EPERM with no verifier log: blocked by a security policy)")
    raise VerifierError(probe.name, text, errno.errorcode.get(err, str(err)), probe.span)


@frozen
class LoadedProgram:
    """One loaded probe program: its spec and its fd."""

    spec: ProbeSpec
    fd: int


class LoadedObject:
    """Maps and programs of a BpfObject; more program groups may be added later."""

    def __init__(self, obj: BpfObject, *, load_probes: bool = True) -> None:
        self.specs: dict[str, MapSpec] = {}
        self._map_fds: dict[str, int] = {}  # by MapSpec.name
        self._data_fds: dict[tuple[bytes, str], int] = {}
        self.programs: list[LoadedProgram] = []
        self._ksyms: dict[str, int] = {}
        try:
            self.add_maps(obj.resources.maps)
            if load_probes:
                self.load_programs(parse_bpf_elf(obj.elf), obj.resources.probes,
                                   obj.resources.maps, ksyms=obj.resources.ksyms)
        except BaseException:
            self.close()
            raise

    # ---- maps -------------------------------------------------------------------
    def add_maps(self, specs: Iterable[MapSpec]) -> None:
        """Create the maps not created yet; an existing name must keep its shape."""
        for spec in specs:
            old = self.specs.get(spec.name)
            if old is None:
                self._map_fds[spec.name] = create_map(spec)
                self.specs[spec.name] = spec
            elif (old.kind, old.key_size, old.value_size) != (spec.kind, spec.key_size,
                                                              spec.value_size):
                raise RuntimeFailure(f"map {spec.name} already exists with a different "
                                     "key or value type")

    def remove_maps(self, names: Iterable[str]) -> None:
        """Close and forget some maps (a failed REPL entry's new ones)."""
        for name in names:
            fd = self._map_fds.pop(name, None)
            if fd is not None:
                sc.close_fd(fd)
            self.specs.pop(name, None)

    def map_fd(self, name: str) -> int:
        """The fd of map `name` (MapSpec.name, e.g. '@x' or '__ringbuf')."""
        try:
            return self._map_fds[name]
        except KeyError:
            raise KeyError(f"no map named {name}") from None

    def map_names(self) -> list[str]:
        return list(self._map_fds)

    def _symbol_fds(self) -> dict[str, int]:
        return {s.symbol: self._map_fds[n] for n, s in self.specs.items()}

    def _data_section_fds(self, elf: BpfElf, needed: set[str]) -> dict[str, int]:
        out = {}
        for section in needed:
            data = elf.data_sections[section]
            key = (data, section)
            if key not in self._data_fds:
                self._data_fds[key] = _create_rodata_map(section, data)
            out[section] = self._data_fds[key]
        return out

    # ---- programs ---------------------------------------------------------------
    def load_programs(self, elf: BpfElf | bytes, probes: Sequence[ProbeSpec],
                      maps: Iterable[MapSpec] = (),
                      settings: LoadSettings = DEFAULT_SETTINGS,
                      ksyms: Iterable[tuple[str, int]] = ()) -> list[LoadedProgram]:
        """Load a group of probes (creating any new maps first); all or nothing."""
        self._ksyms = dict(ksyms)
        if isinstance(elf, bytes):
            elf = parse_bpf_elf(elf)
        maps = list(maps)
        self.add_maps(maps)
        sym_fds = self._symbol_fds()
        sym_fds.update({m.symbol: self._map_fds[m.name] for m in maps})  # this ELF's names
        group: list[LoadedProgram] = []
        try:
            for probe in probes:
                group.append(LoadedProgram(probe, self._load_one(elf, probe, sym_fds,
                                                                 settings)))
        except BaseException:
            for p in group:
                sc.close_fd(p.fd)
            raise
        self.programs.extend(group)
        return group

    def add_object(self, obj: BpfObject) -> list[LoadedProgram]:
        """Load another compiled object's probes against these maps (REPL)."""
        return self.load_programs(obj.elf, obj.resources.probes, obj.resources.maps,
                                  ksyms=obj.resources.ksyms)

    def _load_one(self, elf: BpfElf, probe: ProbeSpec, sym_fds: Mapping[str, int],
                  settings: LoadSettings = DEFAULT_SETTINGS) -> int:
        if elf.programs.get(probe.section) is None:
            raise ElfError(f"the BPF object has no section '{probe.section}' for {probe.name}")
        linked = link_program(elf, probe.section)
        relocs = linked.relocations
        needed = {r.symbol.section for r in relocs
                  if r.symbol.name not in sym_fds and r.symbol.section in elf.data_sections
                  and r.symbol.section.startswith(".rodata")}
        data_fds = self._data_section_fds(elf, needed)
        code = patch_relocations(linked.code, relocs, sym_fds, data_fds, probe.section,
                                 self._ksyms)
        return load_program(probe, code, linked.functions, settings)

    def prog_fd(self, name: str) -> int:
        """The fd of the loaded program for probe `name` (first match)."""
        for p in self.programs:
            if p.spec.name == name:
                return p.fd
        raise KeyError(f"no loaded program for {name}")

    def unload(self, programs: Iterable[LoadedProgram]) -> None:
        """Close some programs (detach their Attachments first)."""
        drop = {p.fd for p in programs}
        for fd in drop:
            sc.close_fd(fd)
        self.programs = [p for p in self.programs if p.fd not in drop]

    def close(self) -> None:
        """Close every program and map fd this object owns."""
        for p in self.programs:
            sc.close_fd(p.fd)
        for fd in list(self._map_fds.values()) + list(self._data_fds.values()):
            sc.close_fd(fd)
        self.programs, self._map_fds, self._data_fds, self.specs = [], {}, {}, {}

    def __enter__(self) -> LoadedObject:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
