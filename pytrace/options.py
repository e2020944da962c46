"""Compile options from the command line that change the program (kept apart from the
passes so a cached start-up can build its cache key without importing the compiler).

Everything here is plain data: the CLI fills it from the flags and the `BPFTRACE_*`
environment, the passes, codegen and runtime read it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

# -k / --warnings and --no-warnings, as bpftrace counts them.
WARNINGS_OFF = 0
WARNINGS_DEFAULT = 1
WARNINGS_HELPERS = 2

DEFAULT_MAX_STRLEN = 1024
DEFAULT_STR_TRUNC_TRAILER = ".."
DEFAULT_ON_STACK_LIMIT = 32
DEFAULT_MAX_CAT_BYTES = 10240


@dataclass(slots=True)
class Options:
    """Compile options from the command line that change the program."""

    params: list[str] = field(default_factory=list)  # $1.. as given
    pid: int | None = None  # -p
    has_child: bool = False  # -c: cpid is valid
    unsafe: bool = False
    tracefs: str = "/sys/kernel/tracing"
    # Named program parameters after `--` (`--aa=20` -> {'aa': '20'}, `--bb` -> {'bb': ''}),
    # for getopt(); kept in the order given.
    named_params: dict[str, str] = field(default_factory=dict)
    warning_level: int = WARNINGS_DEFAULT  # 0 --no-warnings, 2 -k (helper error checks)
    # Config variables (BPFTRACE_MAX_STRLEN, `config = { max_strlen = ... }`): the size
    # of strings read by str()/buf()/path(), and the mark printed after a string that
    # filled it.
    max_strlen: int = DEFAULT_MAX_STRLEN
    str_trunc_trailer: str = DEFAULT_STR_TRUNC_TRAILER
    max_cat_bytes: int = DEFAULT_MAX_CAT_BYTES

    @property
    def helper_errors(self) -> bool:
        """-k: report failing BPF helpers (probe reads, map lookups) at run time."""
        return self.warning_level >= WARNINGS_HELPERS


class OptionError(ValueError):
    """A BPFTRACE_* variable with a value bpftrace refuses (one message line)."""


def _uint(var: str, text: str) -> int:
    digits = text.strip().lstrip("+")
    if not digits.isdigit() or int(digits) == 0:
        raise OptionError(f"Env var '{var}' did not contain a valid uint64_t, or was "
                          "zero-valued.")
    return int(digits)


def apply_environment(options: Options, env: Mapping[str, str] | None = None) -> Options:
    """Fill the string-related config variables from BPFTRACE_MAX_STRLEN (0.17's
    BPFTRACE_STRLEN too), BPFTRACE_STR_TRUNC_TRAILER and BPFTRACE_MAX_CAT_BYTES."""
    env = os.environ if env is None else env
    for var in ("BPFTRACE_STRLEN", "BPFTRACE_MAX_STRLEN"):
        if var in env:
            options.max_strlen = _uint(var, env[var])
    if "BPFTRACE_STR_TRUNC_TRAILER" in env:
        options.str_trunc_trailer = env["BPFTRACE_STR_TRUNC_TRAILER"]
    for var in ("BPFTRACE_CAT_BYTES_MAX", "BPFTRACE_MAX_CAT_BYTES"):
        if var in env:
            options.max_cat_bytes = _uint(var, env[var])
    return options
