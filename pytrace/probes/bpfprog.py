"""`fentry:bpf[:PROG_ID]:NAME` / `fexit:bpf[...]`: probes on running BPF programs.

A target is one function of a loaded program that has BTF: its main function (the
program itself) or one of its sub-programs. Sub-programs are named by their BTF FUNC;
the main function by the program's kernel name, or by its FUNC when the kernel's name
is 15 characters long and so may have been cut (the rule bpftool and bpftrace use for
a program's full name). NAME and PROG_ID may be
shell globs; without PROG_ID every running program is searched. Each target is named
`KIND:bpf:PROG_ID:NAME` (what `probe` gives and `-l` lists) and carries what loading
needs: the program's id (its fd becomes `attach_prog_fd`), the FUNC's id in the
program's BTF (`attach_btf_id`) and the BTF object's id (for `args` and `retval`,
typed from that FUNC's prototype).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

from pytrace.frozen import frozen
from pytrace.probes.base import NoMatchError, ProbeError, has_wildcard
from pytrace.probes.target import ProbeTarget
from pytrace.resources import ProgType

if TYPE_CHECKING:
    from pytrace.btf.program import ProgramBtf
    from pytrace.btf.types import KernelFunc

VARIANT = "bpf"  # fentry:bpf:... names a running program, not a kernel module
USAGE = "{kind}:bpf:NAME or {kind}:bpf:PROG_ID:NAME"
KERNEL_NAME_MAX = 15  # BPF_OBJ_NAME_LEN - 1: a longer name was cut, BTF has it whole
LIST_HINT = "list them with: pytrace -l 'fentry:bpf:*'"


@frozen
class BpfFunction:
    """One attachable function of a running program (`main`: the program itself)."""

    prog_id: int
    prog_btf_id: int
    name: str
    type_id: int
    main: bool


def is_bpf_variant(parts: list[str] | tuple[str, ...]) -> bool:
    """Whether the parts after `fentry:`/`fexit:` are the bpf variant's."""
    return len(parts) >= 2 and parts[0] == VARIANT


@lru_cache(maxsize=64)
def program_btf(btf_id: int) -> ProgramBtf | None:
    """The BTF of BTF object `btf_id` (a program's), parsed; None when it is gone or
    not BTF this reader understands."""
    from pytrace.btf.format import BtfFormatError
    from pytrace.btf.program import ProgramBtf
    from pytrace.runtime.bpfprogs import btf_blob

    data = btf_blob(btf_id)
    if data is None:
        return None
    try:
        return ProgramBtf(f"prog_btf_{btf_id}", data)
    except BtfFormatError:
        return None


def _functions(prog_id: int, name: str, btf_id: int,
               func_types: tuple[int, ...]) -> Iterator[BpfFunction]:
    btf = program_btf(btf_id)
    if btf is None:
        return
    for i, tid in enumerate(func_types):
        fname = btf.name_of(tid)
        if i == 0 and (fname is None or len(name) < KERNEL_NAME_MAX):
            fname = name  # the kernel's name is whole: it names the program
        if fname:
            yield BpfFunction(prog_id, btf_id, fname, tid, i == 0)


def bpf_functions() -> list[BpfFunction]:
    """Every function fentry:bpf can attach to now: programs with BTF and func_info,
    by program id, each program's functions in its func_info order."""
    from pytrace.runtime.bpfprogs import running_programs

    out: list[BpfFunction] = []
    for p in running_programs():
        if p.btf_id and p.func_types:
            out.extend(_functions(p.id, p.name, p.btf_id, p.func_types))
    return out


def _id_glob(kind: str, text: str) -> str:
    if not text or not (text.isdigit() or has_wildcard(text)):
        raise ProbeError(f"invalid BPF program id '{text}' in {kind}:bpf:{text}:...",
                         "expected " + USAGE.format(kind=kind))
    return text if has_wildcard(text) else str(int(text))


def matching(kind: str, rest: list[str] | tuple[str, ...]) -> list[BpfFunction]:
    """The functions `rest` (the parts after `bpf`: [NAME] or [PROG_ID, NAME]) names."""
    if len(rest) not in (1, 2) or not rest[-1]:
        raise ProbeError(f"invalid {kind}:bpf attach point", "expected " + USAGE.format(kind=kind))
    id_glob = _id_glob(kind, rest[0]) if len(rest) == 2 else "*"
    name_glob = rest[-1]
    return [f for f in bpf_functions()
            if fnmatch.fnmatchcase(str(f.prog_id), id_glob)
            and fnmatch.fnmatchcase(f.name, name_glob)]


def target_name(kind: str, f: BpfFunction) -> str:
    return f"{kind}:bpf:{f.prog_id}:{f.name}"


def _target(kind: str, f: BpfFunction) -> ProbeTarget:
    attach: dict[str, str | int] = {"func": f.name, "btf_id": f.type_id,
                                    "prog_id": f.prog_id, "prog_btf_id": f.prog_btf_id}
    return ProbeTarget(kind, target_name(kind, f), ProgType.TRACING, attach, func=f.name)


def _no_match(kind: str, rest: list[str]) -> ProbeError:
    spelled = f"{kind}:bpf:{':'.join(rest)}"
    if any(has_wildcard(x) for x in rest):
        return NoMatchError(f"No running BPF program with BTF matches {spelled}", LIST_HINT)
    if len(rest) == 2:
        from pytrace.runtime.bpfprogs import prog_ids

        if int(rest[0]) not in set(prog_ids()):
            return ProbeError(f"No BPF program with id {int(rest[0])} is loaded ({spelled})",
                              LIST_HINT)
        return ProbeError(f"BPF program {int(rest[0])} has no function {rest[1]} with BTF "
                          f"({spelled})", "only programs loaded with BTF can be attached to; "
                          + LIST_HINT)
    return ProbeError(f"No running BPF program with BTF has a function named {rest[0]} "
                      f"({spelled})", LIST_HINT)


def bpf_targets(kind: str, rest: list[str]) -> list[ProbeTarget]:
    """The targets of `KIND:bpf:REST`; a name that matches nothing is an error (a
    wildcard's is a NoMatchError, which missing_probes and other attach points decide)."""
    found = matching(kind, rest)
    if not found:
        raise _no_match(kind, rest)
    return [_target(kind, f) for f in found]


def target_function(target: ProbeTarget) -> KernelFunc | None:
    """The prototype of the function an fentry:bpf / fexit:bpf target attaches to, from
    its program's BTF (None when the program is gone)."""
    btf = program_btf(int(target.attach["prog_btf_id"]))
    return btf.function(int(target.attach["btf_id"])) if btf is not None else None
