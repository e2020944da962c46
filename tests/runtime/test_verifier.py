"""runtime/verifier.py: verifier logs reduced to what to change (no kernel needed, but the
module lives with the runtime)."""

from __future__ import annotations

from pytrace.runtime.errors import VerifierError
from pytrace.runtime.verifier import diagnostic, explain


def test_specific_lines_win_over_the_summary() -> None:
    log = "12: (55) if r6 != 0x186a0 goto pc-12\nBPF program is too large. Processed 1000001 insn\n" \
          "processed 1000001 insns (limit 1000000) max_states_per_insn 4\n"
    why = explain(log)
    assert why is not None and why.detail.startswith("BPF program is too large")
    assert why.message == "this probe is too complex for the kernel's verifier"


def test_each_rule() -> None:
    cases = {
        "infinite loop detected at insn 5": "may never end",
        "combined stack size of 3 calls is 544. Too large": "more BPF stack",
        "R1 min value is negative, either use unsigned index or do a if (index >=0) check.":
            "not bounded",
        "R2 invalid mem access 'scalar'": "not a pointer",
        "unknown func bpf_foo#999": "helper",
    }
    for line, words in cases.items():
        why = explain(f"0: (b7) r0 = 0\n{line}\n")
        assert why is not None and words in why.message, line


def test_unknown_reason_keeps_the_last_line_and_points_at_the_probe() -> None:
    d = diagnostic(VerifierError("BEGIN", "0: r0 = 0\nsomething new\n", "EINVAL", (3, 1, 3, 6)))
    assert d.message == "the kernel's verifier rejected BEGIN: something new"
    assert d.span is not None and (d.span.line, d.span.col) == (3, 1)
