"""User-facing runtime failures: each one renders as a single clear line."""

from __future__ import annotations


class TraceError(Exception):
    """An environment or kernel problem (privileges, a missing kernel feature, the
    verifier, a failed syscall); str() is one user-facing line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


RuntimeFailure = TraceError  # the runtime's own name for it


class PrivilegeError(TraceError):
    """Not root, or a capability (CAP_BPF, CAP_PERFMON…) is missing."""


class FeatureUnavailable(TraceError):
    """The kernel lacks something a probe kind or map type needs."""


class VerifierError(TraceError):
    """The verifier rejected a program; carries its name, the verifier log and where its
    probe block is in the source (ProbeSpec.span), so it can become a located error."""

    def __init__(self, program: str, log: str, errno_name: str = "",
                 span: tuple[int, ...] = ()) -> None:
        detail = f" ({errno_name})" if errno_name else ""
        super().__init__(f"the kernel verifier rejected the program for {program}{detail}")
        self.program = program
        self.log = log
        self.span = span

    def last_lines(self, n: int = 5) -> str:
        """The final lines of the log, which usually state the reason."""
        lines = [ln for ln in self.log.splitlines() if ln.strip()]
        return "\n".join(lines[-n:])
