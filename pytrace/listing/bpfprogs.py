"""`-l 'fentry:bpf:*'` / `fexit:bpf:ID:NAME`: the running BPF programs (and their
sub-programs) that fentry/fexit probes can attach to, as `KIND:bpf:PROG_ID:NAME`,
ordered by program id; with `-v`, each function's parameters and return type from the
program's own BTF. Programs without BTF are not listed: nothing can attach to them.
"""

from __future__ import annotations

from pytrace.listing.patterns import ListContext, Pattern
from pytrace.probes.bpfprog import matching, program_btf, target_name


def list_bpf_programs(kind: str, p: Pattern, ctx: ListContext) -> list[str]:
    rest = list(p.parts[1:])
    out: list[str] = []
    for f in matching(kind, rest):
        out.append(target_name(kind, f))
        if ctx.verbose:
            btf = program_btf(f.prog_btf_id)
            out.extend(f"    {line}" for line in (btf.param_lines(f.type_id) if btf else ()))
    return out
