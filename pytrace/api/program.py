"""`pytrace.compile`: a program's text -> a compiled `Program` (or a CompileError)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pytrace.diagnostics import Diagnostic
from pytrace.frozen import frozen
from pytrace.options import Options
from pytrace.resources import BpfObject
from pytrace.source import Source

__all__ = ["Program", "compile"]


@frozen
class Program:
    """A compiled program: its text, the options it was compiled with, the BPF object
    and the warnings the compiler gave."""

    source: str
    options: Options
    obj: BpfObject
    warnings: tuple[Diagnostic, ...] = ()
    name: str = "stdin"

    @property
    def probes(self) -> tuple[str, ...]:
        """The expanded attach points, one per BPF program."""
        return tuple(p.name for p in self.obj.resources.probes)

    @property
    def map_names(self) -> tuple[str, ...]:
        """The program's user maps ('@', '@opens', ...)."""
        return tuple(m.name for m in self.obj.resources.maps if m.is_user)

    def with_options(self, *, pid: int | None, has_child: bool) -> Program:
        """This program compiled for another target (-p PID) or with/without a child."""
        if self.options.pid == pid and self.options.has_child == has_child:
            return self
        opts = replace(self.options, pid=pid, has_child=has_child)
        return _compile(self.source, opts, self.name)


def _compile(text: str, options: Options, name: str) -> Program:
    from pytrace.driver import compile_source

    source = Source(name, text)
    result = compile_source(source, options)
    return Program(text, options, result.obj, tuple(result.warnings), name)


def compile(source: str, *, params: Sequence[str] = (), pid: int | None = None,  # noqa: A001
            has_child: bool = False, unsafe: bool = False, name: str = "stdin") -> Program:
    """Compile a program (compiled objects are cached as the CLI caches them).

    params: the positional parameters $1, $2...; pid: the process `-p` traces;
    has_child: the program will run with a `cmd` child (`cpid` is valid); unsafe: allow
    system(), signal()...; name: the file name diagnostics show.
    Raises CompileError (its `.diagnostics`; str() is bpftrace's rendering).
    """
    options = Options(params=[str(p) for p in params], pid=pid, has_child=has_child,
                      unsafe=unsafe)
    return _compile(source, options, name)
