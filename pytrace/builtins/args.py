"""Types of `args.f` / `args->f`: tracepoint format fields (pointer fields typed through
the TypeTable: `struct task_struct *` points to the kernel's struct), raw tracepoint
arguments and fentry/fexit function parameters from kernel BTF; unified over a
block's targets."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING

from pytrace.diagnostics import Diagnostics
from pytrace.probes.target import ProbeTarget, TpField
from pytrace.source import Span
from pytrace.types import ArrayT, IntT, PtrT, StrT, StructT, Type, unify
from pytrace.typetable import TypeTable

if TYPE_CHECKING:
    from pytrace.btf.types import KernelFunc

FUNCTION_KINDS = frozenset({"fentry", "fexit"})


def _pointee(ctype: str, table: TypeTable | None) -> Type | None:
    """What a format file's pointer type points to (None: unknown, or void)."""
    words = [w for w in ctype.replace("*", " ").split() if w not in ("const", "volatile")]
    name = " ".join(words)
    if not name or name == "void" or table is None or ctype.count("*") != 1:
        return None
    t = table.lookup(name)
    if isinstance(t, StructT) and t.name:
        return StructT(t.name, union=t.union)
    return t if isinstance(t, IntT) else None


def field_type(f: TpField, user: bool, table: TypeTable | None = None) -> Type:
    """The pytrace type of one tracepoint field."""
    ctype = " ".join(f.ctype.replace("*", " * ").split())
    if f.data_loc:
        return StrT(64)
    if f.array_len is not None:
        elem_size = max(1, f.size // max(1, f.array_len))
        if ctype.startswith("char") or ctype.startswith("unsigned char") or \
                ctype.startswith("signed char"):
            return StrT(f.array_len)
        return ArrayT(IntT(elem_size * 8, f.signed), f.array_len)
    if "*" in ctype:
        if f.is_string_pointer and ctype.count("*") == 1:
            return PtrT(IntT(8, True), user=user, ctype=f.ctype)
        return PtrT(_pointee(ctype, table), user=user, ctype=f.ctype)
    bits = 64 if f.size >= 8 else f.size * 8
    return IntT(bits if bits in (8, 16, 32, 64) else 64, f.signed)


# The type of args.NAME (or retval) in one target; None after reporting why it has none.
TargetType = Callable[[ProbeTarget], "Type | None"]


def _over_targets(targets: Sequence[ProbeTarget], kinds: Collection[str], name: str,
                  span: Span, diags: Diagnostics, one: TargetType) -> Type | None:
    """One type for args.NAME over the block's targets of `kinds`: each target's type
    (`one`) merged with the others' (None after an error)."""
    result: Type | None = None
    for t in targets:
        if t.kind not in kinds:
            continue
        ft = one(t)
        if ft is None:
            return None
        result = _merge(result, ft, name, span, diags)
        if result is None:
            return None
    return result


def args_field(targets: Sequence[ProbeTarget], name: str, span: Span,
               diags: Diagnostics, table: TypeTable | None = None) -> Type | None:
    """The type of `args.name` in a block attached to `targets` (None after an error)."""

    def one(t: ProbeTarget) -> Type | None:
        f = t.field_named(name)
        if f is None:
            tp = t.name.removeprefix("tracepoint:")
            diags.error(f"Struct/union of type 'struct _tracepoint_{tp.replace(':', '_')}' "
                        f"does not contain a field named '{name}'", span,
                        f"tracepoint {tp} has fields: " + ", ".join(x.name for x in t.fields))
            return None
        return field_type(f, t.user_pointers, table)

    return _over_targets(targets, ("tracepoint",), name, span, diags, one)


def rawtracepoint_arg(target: ProbeTarget, name: str,
                      table: TypeTable) -> tuple[int, Type] | None:
    """(index in the context's u64 array, type) of a raw tracepoint argument."""
    event = str(target.attach.get("event", target.name.rsplit(":", 1)[-1]))
    found = table.raw_tracepoint_args(event)
    for i, (arg, t) in enumerate(found or ()):
        if arg == name:
            return i, t
    return None


def rawtracepoint_args(targets: Sequence[ProbeTarget], name: str, span: Span,
                       diags: Diagnostics, table: TypeTable) -> Type | None:
    """The type of `args.name` in raw tracepoint probes (from kernel BTF)."""

    def one(t: ProbeTarget) -> Type | None:
        found = rawtracepoint_arg(t, name, table)
        if found is None:
            event = str(t.attach.get("event", t.name))
            args = table.raw_tracepoint_args(event)
            hint = ("its arguments: " + ", ".join(n for n, _ in args)) if args else \
                "kernel BTF has no prototype for this tracepoint"
            diags.error(f"Can not access field '{name}' of raw tracepoint {event}", span, hint)
            return None
        return _kernel_value(found[1])  # raw tracepoint arguments are kernel values

    return _over_targets(targets, ("rawtracepoint",), name, span, diags, one)


def uprobe_arg(target: ProbeTarget, name: str) -> tuple[int, Type | None] | None:
    """(integer argument slot or -1, type) of parameter `name` of a uprobe's function,
    from its binary's DWARF; None when the function has no such parameter (or no DWARF)."""
    for arg, t, slot in uprobe_params(target) or ():
        if arg == name:
            return slot, t
    return None


def uprobe_params(target: ProbeTarget) -> tuple[tuple[str, Type | None, int], ...] | None:
    from pytrace.listing.dwarfargs import function_args
    from pytrace.probes.base import ProbeError
    from pytrace.probes.elfsyms import lookup

    path, func = str(target.attach.get("path", "")), target.func
    if not path or not func:
        return None
    try:
        sym = lookup(path, 0, func).functions.get(func)
    except ProbeError:
        return None
    return function_args(path, func, sym.addr) if sym is not None else None


def _uprobe_arg_type(t: ProbeTarget, name: str, span: Span, diags: Diagnostics) -> Type | None:
    params = uprobe_params(t)
    if params is None:
        diags.error(f"Can not access args.{name}: no DWARF found for "
                    f"\"{t.attach.get('path', t.name)}\" ({t.func or t.name})", span,
                    "build it with -g, or install its debug file")
        return None
    found = uprobe_arg(t, name)
    if found is None:
        diags.error(f"args.{name} is not a parameter of {t.func} ({t.name})", span,
                    "its parameters: " + (", ".join(n for n, _, _ in params) or "none"))
        return None
    if found[0] < 0 or found[1] is None:
        diags.error(f"args.{name} of {t.func} cannot be read through args: it is not an "
                    "integer or pointer in an argument register (floating point, a struct "
                    "by value, or after one)", span)
        return None
    return found[1]


def uprobe_args(targets: Sequence[ProbeTarget], name: str, span: Span,
                diags: Diagnostics) -> Type | None:
    """The type of `args.name` in uprobes (from the binaries' DWARF)."""
    return _over_targets(targets, ("uprobe",), name, span, diags,
                         lambda t: _uprobe_arg_type(t, name, span, diags))


def _kernel_value(t: Type) -> Type:
    """Pointers a kernel function or raw tracepoint receives point to kernel memory."""
    return PtrT(t.pointee, ctype=t.ctype, kernel=True) if isinstance(t, PtrT) else t


def _merge(result: Type | None, ft: Type, name: str, span: Span,
           diags: Diagnostics) -> Type | None:
    """One type for args.NAME over a block's targets (pointers of any pointee merge)."""
    merged = ft if result is None else (unify(result, ft) or (
        result if isinstance(result, PtrT) and isinstance(ft, PtrT) else None))
    if merged is None:
        diags.error(f"args.{name} has different types in the probes of this block: "
                    f"'{result}' and '{ft}'", span)
    return merged


def kernel_function(target: ProbeTarget, table: TypeTable) -> KernelFunc | None:
    """The BTF prototype of the function an fentry/fexit target attaches to (for the
    bpf variant, from the target program's own BTF)."""
    if "prog_id" in target.attach:
        from pytrace.probes.bpfprog import target_function

        return target_function(target)
    module = str(target.attach.get("btf_module", "vmlinux"))
    return table.kernel_function(target.func, module)


def slots(t: Type) -> int:
    """How many u64 words of the trampoline's context a parameter takes (a struct
    passed by value of 9..16 bytes takes two)."""
    return max(1, (t.csize + 7) // 8)


def function_arg(target: ProbeTarget, name: str,
                 table: TypeTable) -> tuple[int, Type] | None:
    """(byte offset in the context, type) of parameter `name`; `retval` (fexit) comes
    after the parameters."""
    fn = kernel_function(target, table)
    if fn is None:
        return None
    off = 0
    for arg, t in fn.params:
        if arg == name:
            return off, _kernel_value(t)
        off += 8 * slots(t)
    if name == "retval" and target.kind == "fexit" and fn.ret is not None:
        return off, _kernel_value(fn.ret)
    return None


def _checked_function(target: ProbeTarget, span: Span, diags: Diagnostics,
                      table: TypeTable) -> KernelFunc | None:
    fn = kernel_function(target, table)
    if fn is None:  # the target was found in BTF when expanded: only a changed kernel
        module = target.attach.get("btf_module", "vmlinux")
        diags.error(f"No BTF found for {module}:{target.func} (the kernel's BTF changed "
                    "since the probe was expanded)", span)
    return fn


def function_args(targets: Sequence[ProbeTarget], name: str, span: Span,
                  diags: Diagnostics, table: TypeTable) -> Type | None:
    """The type of `args.name` in fentry/fexit probes (from kernel BTF)."""

    def one(t: ProbeTarget) -> Type | None:
        fn = _checked_function(t, span, diags, table)
        if fn is None:
            return None
        found = function_arg(t, name, table) if name != "retval" else None
        if found is None:
            names = ", ".join(n for n, _ in fn.params) or "none"
            diags.error(f"Can't find function parameter {name}", span,
                        f"{t.func} has parameters: {names}")
            return None
        return found[1]

    return _over_targets(targets, FUNCTION_KINDS, name, span, diags, one)


def function_retval(targets: Sequence[ProbeTarget], span: Span, diags: Diagnostics,
                    table: TypeTable) -> Type | None:
    """The type of `retval` in fexit probes: the function's return type."""

    def one(t: ProbeTarget) -> Type | None:
        fn = kernel_function(t, table)
        if fn is None or fn.ret is None:
            what = "has no BTF" if fn is None else "returns void"
            diags.error(f"retval is not available: {t.func} {what}", span)
            return None
        return _kernel_value(fn.ret)

    return _over_targets(targets, ("fexit",), "retval", span, diags, one)


def _args_image(fn: KernelFunc) -> StructT:
    """`args` as a whole: a struct laid out as the trampoline's context holds the
    parameters (each at 8 * its first word; an int in its word's low bytes)."""
    fields, off = [], 0
    for name, t in fn.params:
        fields.append((name, _kernel_value(t), off))
        off += 8 * slots(t)
    return StructT("", off, tuple(fields), align=8)


def _same_layout(a: StructT, b: StructT) -> bool:
    """Parameters of the same names, places and types (any two pointers alike)."""
    if len(a.fields) != len(b.fields) or a.byte_size != b.byte_size:
        return False
    return all(na == nb and oa == ob and (unify(ta, tb) is not None or (
        isinstance(ta, PtrT) and isinstance(tb, PtrT)))
        for (na, ta, oa), (nb, tb, ob) in zip(a.fields, b.fields, strict=True))


def function_args_struct(targets: Sequence[ProbeTarget], span: Span, diags: Diagnostics,
                         table: TypeTable) -> StructT | None:
    """The type of `args` itself in fentry/fexit probes: one struct for every target
    of the block (functions whose parameters differ cannot share it)."""
    result: StructT | None = None
    for t in targets:
        if t.kind not in FUNCTION_KINDS:
            continue
        fn = _checked_function(t, span, diags, table)
        if fn is None:
            return None
        image = _args_image(fn)
        if result is not None and not _same_layout(result, image):
            diags.error("args has different types in the probes of this block: the "
                        f"parameters of {t.func} differ from the others'", span,
                        "read single parameters (args.NAME), or split the block")
            return None
        result = image
    return result


def _tracepoint_image(t: ProbeTarget, table: TypeTable | None) -> StructT:
    """`args` as a whole in a tracepoint probe: the format's fields (common_* left out),
    laid out as a C struct of pytrace's own (strings copied in, data_loc resolved)."""
    from pytrace.cdefs.layout import layout_struct

    return layout_struct("", [(f.name, field_type(f, t.user_pointers, table), None)
                              for f in t.fields])


def tracepoint_args_struct(targets: Sequence[ProbeTarget], span: Span, diags: Diagnostics,
                           table: TypeTable | None) -> StructT | None:
    """The type of `args` itself in tracepoint probes (print(args), $a = args): one
    struct for every tracepoint of the block."""
    result: StructT | None = None
    for t in targets:
        if t.kind != "tracepoint":
            continue
        image = _tracepoint_image(t, table)
        if result is not None and result != image:
            diags.error("args has different types in the probes of this block: the fields "
                        f"of {t.name} differ from the others'", span,
                        "read single fields (args.NAME), or split the block")
            return None
        result = image
    return result
