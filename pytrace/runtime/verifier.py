"""What a verifier rejection means for the user: the kernel's log reduced to one line
saying what is wrong and a hint saying what to change (diagnostics as data)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pytrace.frozen import frozen

if TYPE_CHECKING:
    from pytrace.diagnostics import Diagnostic
    from pytrace.runtime.errors import VerifierError

TOO_COMPLEX = ("this probe is too complex for the kernel's verifier",
               "use fewer branches or a smaller loop or unroll count in this probe, or split "
               "it into several probes")


@frozen
class Explanation:
    message: str
    hint: str
    detail: str  # the log line that says it


# (log pattern, message, hint); the first match wins
RULES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"sequence of \d+ jumps is too complex|BPF program is too large|"
                r"too many states"), *TOO_COMPLEX),
    (re.compile(r"infinite loop detected|back-edge from insn"),
     "a loop in this probe may never end, as far as the verifier can tell",
     "give the loop a bound it can see: compare the counter with a literal (while ($i < 100))"),
    (re.compile(r"combined stack size of \d+ calls|stack limit exceeded|invalid (?:read|write|"
                r"indirect read) from stack"),
     "this probe needs more BPF stack than the kernel allows",
     "use shorter strings (str(x, N)), fewer or smaller tuples, or less nesting of for loops"),
    (re.compile(r"min value is negative|unbounded memory access|"
                r"value is outside of the allowed memory range|invalid access to map value"),
     "an index or length in this probe is not bounded",
     "check it against a constant first, or mask it (for example $i & 0xff)"),
    (re.compile(r"invalid mem access 'scalar'|invalid mem access 'inv'"),
     "a value used as a pointer in this probe is not a pointer the program may read directly",
     "read through it with str(), buf() or a pointer cast, which use the probe_read helpers"),
    (re.compile(r"unknown func (\w+)|program of this type cannot use helper (\w+)|"
                r"helper call is not allowed in probe"),
     "this probe calls a kernel helper that is not available to it on this kernel",
     "use the function in another probe type, or on a newer kernel"),
    (re.compile(r"using too many maps|map limit"),
     "this probe uses more maps than one BPF program may use (64)",
     "use fewer maps in this probe: one map with a key can hold what several maps hold"),
    (re.compile(r"processed \d+ insns \(limit \d+\)"), *TOO_COMPLEX),  # the summary line last
)


def explain(log: str) -> Explanation | None:
    """The first rule that matches a line of the verifier log, or None."""
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    for pattern, message, hint in RULES:
        for line in reversed(lines):
            if pattern.search(line):
                return Explanation(message, hint, line)
    return None


def diagnostic(exc: VerifierError) -> Diagnostic:
    """The rejection as a diagnostic located at the probe (when the object knows where it
    was written): what is wrong, what to change, and the log line that says it."""
    from pytrace.diagnostics import Diagnostic, Severity
    from pytrace.source import Span

    why = explain(exc.log)
    span = Span(*exc.span) if len(exc.span) == 4 else None
    if why is None:
        last = exc.last_lines(1) or "no reason given"
        return Diagnostic(Severity.ERROR, f"the kernel's verifier rejected {exc.program}: "
                          f"{last}", span, ("run with -v to see the verifier's whole log",))
    return Diagnostic(Severity.ERROR, why.message, span,
                      (why.hint, f"the verifier said: {why.detail}"))
