"""`-l 'fentry:...'` / `fexit:`: the kernel functions a probe can attach to (traceable
and described by kernel BTF), with `-v` their parameters and return type from BTF.
`fentry:bpf:...` lists running BPF programs instead (listing/bpfprogs.py).

Listed from BTF whether or not this kernel allows attaching (a program using them is
refused at load with one line): what a function takes does not depend on that.
"""

from __future__ import annotations

from pytrace.listing import btfinfo
from pytrace.listing.patterns import ListContext, Pattern
from pytrace.probes.base import ProbeError, has_wildcard
from pytrace.probes.bpfprog import is_bpf_variant
from pytrace.probes.kernelfuncs import matching


def _candidates(p: Pattern, ctx: ListContext) -> list[tuple[str, str]]:
    """(function, module) pairs the pattern names; a plain name is taken as it is."""
    parts = [x for x in p.parts] or ["*"]
    func = parts[-1] or "*"
    module = parts[0] if len(parts) >= 2 else None
    if not has_wildcard(func) and not (module and has_wildcard(module)):
        return [(func, module or "")]
    return matching(func, module)


def _shown(kind: str, func: str, module: str) -> str:
    """bpftrace's spelling: vmlinux functions bare, module functions with the module."""
    return f"{kind}:{module}:{func}" if module and module != "vmlinux" else f"{kind}:{func}"


def list_functions(kind: str, p: Pattern, ctx: ListContext) -> list[str]:
    if is_bpf_variant(p.parts):
        from pytrace.listing.bpfprogs import list_bpf_programs

        return list_bpf_programs(kind, p, ctx)
    kernel = btfinfo.btf_kernel()
    if kernel is None:
        raise ProbeError(f"{kind} probes cannot be listed: no kernel BTF to describe "
                         "the functions")
    out: list[str] = []
    for func, module in _candidates(p, ctx):
        if func not in kernel.function_ids(module or "vmlinux"):
            continue  # traceable, but BTF does not describe it: fentry cannot attach
        out.append(_shown(kind, func, module))
        if ctx.verbose:
            out.extend(f"    {line}" for line in btfinfo.function_params(func, module) or ())
    return out
