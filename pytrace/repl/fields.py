"""What comes after `args.` and after `expr->` / `expr.`: tracepoint fields from the
tracefs format files, raw tracepoint arguments and struct members from kernel BTF.

`Fields` answers with C type spellings (`struct file *`), so member accesses chain
(`curtask->mm->`). Everything is cached and nothing raises: unknown or unreadable
things have no fields. BTF comes from the `pytrace.btf` package when it is present
(it is imported by name on first use only, so completion of tracepoint fields works
without it).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pytrace.repl.scan import blank_out

if TYPE_CHECKING:
    from pytrace.btf import KernelBtf
    from pytrace.btf.reader import BtfData, BtfType

Members = Callable[[str], dict[str, str]]
TP_KINDS = ("tracepoint", "t")
RAW_KINDS = ("rawtracepoint", "rt")
FUNCTION_KINDS = ("fentry", "f", "kfunc", "fexit", "fr", "kretfunc")
_MAX_EVENTS = 64  # a wider glob offers the fields of its first 64 tracepoints
_QUALIFIERS = re.compile(r"\b(?:const|volatile|restrict|__user|__rcu)\b")
_CAST = re.compile(r"^\(\s*((?:struct|union)\s+\w+\s*\*+|\w+\s*\*+)\s*\)")
_TAIL = re.compile(r"(\.|->)(\w+)$")
_C_DEFINITION = re.compile(r"\b(struct|union)\s+(\w+)\s*\{([^{}]*)\}")
_MEMBER = re.compile(r"^(.*?)(\w+)\s*(\[[^\]]*\])?\s*(?::\s*\d+)?$")


@functools.lru_cache(maxsize=1)
def _btf() -> KernelBtf | None:
    """The running kernel's BTF, or None (none, or unreadable)."""
    try:
        from pytrace.btf import kernel_btf

        return kernel_btf()
    except Exception:  # noqa: BLE001 - no BTF: no struct completion
        return None


def _tracepoint_names(pattern: str) -> list[str]:
    from pytrace.probes.base import match
    from pytrace.probes.tracepoint import all_tracepoints

    try:
        return list(match(pattern, all_tracepoints()))[:_MAX_EVENTS]
    except Exception:  # noqa: BLE001 - no tracefs: no fields
        return []


@functools.lru_cache(maxsize=256)
def tracepoint_fields(pattern: str) -> tuple[tuple[str, str], ...]:
    """(name, C type) of the fields every tracepoint matching `cat:event` has."""
    from pytrace.probes.tracepoint import tracepoint_fields as read

    common: dict[str, str] | None = None
    for name in _tracepoint_names(pattern):
        cat, event = name.split(":", 1)
        try:
            fields = {f.name: f.ctype for f in read(cat, event)}
        except Exception:  # noqa: BLE001 - vanished or unreadable event
            continue
        common = fields if common is None else {
            k: v for k, v in common.items() if fields.get(k) == v}
    return tuple((common or {}).items())


@functools.lru_cache(maxsize=256)
def raw_tracepoint_args(event: str) -> tuple[tuple[str, str], ...]:
    """(name, C type) of a raw tracepoint's arguments, from BTF (empty without it)."""
    btf = _btf()
    if btf is None or "*" in event:
        return ()
    try:
        from pytrace.btf.cdecl import type_name

        proto = btf.raw_tracepoint_proto(event)
        if proto is None:
            return ()
        params = proto.type.params[1:]  # the first is the context pointer
        return tuple((n, type_name(proto.btf, t)) for n, t in params if n)
    except Exception:  # noqa: BLE001
        return ()


@functools.lru_cache(maxsize=256)
def function_args(target: str) -> tuple[tuple[str, str], ...]:
    """(name, C type) of the parameters of an fentry/fexit target (`FUNC` or
    `MODULE:FUNC`), from BTF (empty without it, or for a wildcard)."""
    btf = _btf()
    if btf is None or "*" in target:
        return ()
    module, _, func = target.rpartition(":")
    try:
        from pytrace.btf.cdecl import type_name

        ref = btf.function(func, module)
        if ref is None:
            return ()
        proto = ref.btf.type(ref.type.ref)
        return tuple((n, type_name(ref.btf, t)) for n, t in proto.params if n)
    except Exception:  # noqa: BLE001
        return ()


def bpf_function_args(rest: list[str]) -> tuple[tuple[str, str], ...]:
    """(name, C type) of the parameters of an fentry:bpf target (`[PROG_ID, ]NAME`, the
    first running function it names), from the program's BTF; not memoised: programs
    come and go during a session."""
    try:
        from pytrace.probes.bpfprog import matching, program_btf

        found = matching("fentry", rest) if "*" not in "".join(rest) else []
        btf = program_btf(found[0].prog_btf_id) if found else None
        if btf is None:
            return ()
        return tuple((name, ctype) for name, ctype in btf.params(found[0].type_id) if name)
    except Exception:  # noqa: BLE001
        return ()


def args_fields(points: Sequence[str]) -> dict[str, str]:
    """The `args` fields common to every attach point of a block (name -> C type)."""
    out: dict[str, str] | None = None
    for point in points:
        kind, _, rest = point.partition(":")
        if kind in TP_KINDS and rest.count(":") == 1:
            fields = dict(tracepoint_fields(rest))
        elif kind in RAW_KINDS and rest:
            fields = dict(raw_tracepoint_args(rest.rsplit(":", 1)[-1]))
        elif kind in FUNCTION_KINDS and rest.startswith("bpf:"):
            fields = dict(bpf_function_args(rest.split(":")[1:]))
        elif kind in FUNCTION_KINDS and rest:
            fields = dict(function_args(rest))
        else:
            return {}
        out = fields if out is None else {k: v for k, v in out.items() if k in fields}
    return out or {}


def _strip(ctype: str) -> tuple[str, int]:
    """('struct file', pointer depth) for 'const struct file *'."""
    base = _QUALIFIERS.sub(" ", ctype)
    stars = base.count("*")
    return " ".join(base.replace("*", " ").split()), stars


@functools.lru_cache(maxsize=512)
def btf_members(ctype: str) -> dict[str, str]:
    """Members of a struct or union (typedefs followed; anonymous members flattened),
    by name, with their C types. Empty when BTF or the type is missing."""
    btf = _btf()
    name, _ = _strip(ctype)
    if btf is None or not name:
        return {}
    try:
        from pytrace.btf.cdecl import type_name

        ref = btf.find(name)
        if ref is None:
            return {}
        out: dict[str, str] = {}
        _collect(ref.btf, ref.id, out, type_name)
        return out
    except Exception:  # noqa: BLE001
        return {}


def _resolve_id(btf: BtfData, tid: int) -> BtfType:
    """The type behind typedefs and qualifiers."""
    from pytrace.btf import format as F

    t = btf.type(tid)
    while t.kind in (F.TYPEDEF, F.VOLATILE, F.CONST, F.RESTRICT, F.TYPE_TAG):
        t = btf.type(t.ref)
    return t


def _collect(btf: BtfData, tid: int, out: dict[str, str],
             type_name: Callable[..., str]) -> None:
    from pytrace.btf import format as F

    t = _resolve_id(btf, tid)
    if t.kind not in (F.STRUCT, F.UNION):
        return
    for m in t.members:
        if m.name:
            out.setdefault(m.name, type_name(btf, m.type_id))
        else:
            _collect(btf, m.type_id, out, type_name)


def program_structs(text: str) -> dict[str, dict[str, str]]:
    """`struct s { int a; char *b; }` definitions in program text (one level, as the
    C preamble writes them): 'struct s' -> member -> C type."""
    out: dict[str, dict[str, str]] = {}
    for m in _C_DEFINITION.finditer(blank_out(text)):
        members: dict[str, str] = {}
        for decl in m.group(3).split(";"):
            d = _MEMBER.match(" ".join(decl.split()))
            if d and d.group(1).strip():
                members[d.group(2)] = (d.group(1).strip() + (d.group(3) or "")).strip()
        out[f"{m.group(1)} {m.group(2)}"] = members
    return out


class Fields:
    """Resolves the C type of `args.x`, `curtask->y`, `((struct s *)p)->z`, `$v->w` and
    lists the members after them: structs the program defines (in `text` or `defined`,
    the session's earlier entries) first, then kernel BTF."""

    def __init__(self, points: Sequence[str], text: str,
                 args: Callable[[Sequence[str]], dict[str, str]] = args_fields,
                 members: Members = btf_members, defined: str = "") -> None:
        self.points, self.text = points, text
        self.args = args
        structs = program_structs(defined + "\n" + text)

        def lookup(ctype: str) -> dict[str, str]:
            own = structs.get(_strip(ctype)[0])
            return own if own is not None else members(ctype)
        self.members = lookup

    def after(self, expr: str) -> dict[str, str]:
        """Member name -> C type of what can follow `expr.` / `expr->`."""
        ctype = self.type_of(expr.strip(), 0)
        if ctype is None:
            return {}
        if ctype == "args":
            return self.args(self.points)
        return self.members(ctype)

    def type_of(self, expr: str, depth: int) -> str | None:
        if depth > 8 or not expr:
            return None
        if expr == "args":
            return "args"
        if expr == "curtask":
            return "struct task_struct *"
        if re.fullmatch(r"\$\w+", expr):
            return self._variable(expr, depth)
        if expr.startswith("(") and _matching_close(expr) == len(expr) - 1:
            return self.type_of(expr[1:-1].strip(), depth + 1)
        cast = _CAST.match(expr)
        if cast:  # a cast's operand is the postfix expression after it
            return cast.group(1)
        tail = _TAIL.search(expr)
        if tail is None:
            return None
        base = self.type_of(expr[:tail.start()].strip(), depth + 1)
        if base is None:
            return None
        fields = self.args(self.points) if base == "args" else self.members(base)
        return fields.get(tail.group(2))

    def _variable(self, name: str, depth: int) -> str | None:
        code = blank_out(self.text)
        found = re.findall(re.escape(name) + r"\s*=(?!=)\s*([^;{}]+)", code)
        return self.type_of(found[-1].strip(), depth + 1) if found else None


def _matching_close(expr: str) -> int:
    """The offset of the parenthesis closing the one at expr[0] (-1 if none)."""
    depth = 0
    for i, ch in enumerate(expr):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1
