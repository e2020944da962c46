"""Compile options from the command line that change the program (kept apart from the
passes so a cached start-up can build its cache key without importing the compiler)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Options:
    """Compile options from the command line that change the program."""

    params: list[str] = field(default_factory=list)  # $1.. as given
    pid: int | None = None  # -p
    has_child: bool = False  # -c: cpid is valid
    unsafe: bool = False
    tracefs: str = "/sys/kernel/tracing"
    include_dirs: list[str] = field(default_factory=list)  # -I DIR: C header search path
    include_files: list[str] = field(default_factory=list)  # --include FILE
