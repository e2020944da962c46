"""The imports pass: `import "path";` statements resolved and merged into the program.

A path is relative to the directory of the script that imports it (the working
directory for `-e` and stdin). A `.bt` script's probes, macros, map declarations and C
definitions join the program (its C preamble read by pytrace/cdefs as the main
script's is), its own imports first, and every probe of an import comes before the
importer's (so its begin/end blocks run first); a `.h` header's type definitions join
the program's types; a directory imports each supported file in it (not
recursively, in name order). Each file is imported once. World-writable directories
are refused, as is an imported script's config block. Spans of imported nodes carry
their file, so diagnostics point into it.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from typing import TYPE_CHECKING

from pytrace import nodes
from pytrace.passes.context import CheckedProgram
from pytrace.passes.walk import walk
from pytrace.source import Source, Span

if TYPE_CHECKING:
    from pytrace.cdefs.frontend import Front

SUPPORTED = (".bt", ".h", ".bpf.c")


class ImportFailure(Exception):
    """An import that cannot be done (the message is the error)."""


def _base_dir(source: Source) -> str:
    name = source.name
    if name not in ("stdin", "-", "") and os.path.exists(name):
        return os.path.dirname(os.path.abspath(name))
    return os.getcwd()


def _check_directory(path: str) -> None:
    directory = path if os.path.isdir(path) else os.path.dirname(path) or "."
    try:
        mode = os.stat(directory).st_mode
    except OSError as exc:
        raise ImportFailure(f"cannot import '{path}': {exc.strerror}") from None
    if mode & stat.S_IWOTH:
        raise ImportFailure(f"refusing to import from the world-writable directory "
                            f"'{directory}'")


def _files(path: str) -> list[str]:
    """The files one import names (a directory: its supported files)."""
    if os.path.isdir(path):
        names = sorted(n for n in os.listdir(path) if n.endswith(SUPPORTED))
        return [os.path.join(path, n) for n in names if os.path.isfile(os.path.join(path, n))]
    if not os.path.exists(path):
        raise ImportFailure(f"cannot import '{path}': No such file or directory")
    if not path.endswith(SUPPORTED):
        raise ImportFailure(f"cannot import '{path}': only .bt scripts, .h headers and "
                            "directories of them can be imported")
    return [path]


def _with_source(program: nodes.Program, source: Source) -> None:
    """Point every span of an imported program at its file."""
    for node in walk(program):
        if node.span.line:
            node.span = dataclasses.replace(node.span, source=source)


class Importer:
    def __init__(self, cp: CheckedProgram) -> None:
        self.cp = cp
        self.seen: set[str] = set()
        self.probes: list[nodes.Probe] = []
        self.macros: list[nodes.MacroDef] = []
        self.map_decls: list[nodes.MapDecl] = []
        self.preamble: list[nodes.Node] = []

    def run(self, program: nodes.Program, base: str) -> None:
        for item in program.preamble:
            if isinstance(item, nodes.Import):
                self.import_path(item, base)

    def import_path(self, item: nodes.Import, base: str) -> None:
        path = os.path.normpath(os.path.join(base, item.path))
        try:
            _check_directory(path)
            for file in _files(path):
                self.import_file(file, item.span)
        except ImportFailure as exc:
            self.cp.diagnostics.error(str(exc), item.span)

    def import_file(self, path: str, span: Span) -> None:
        real = os.path.realpath(path)
        if real in self.seen:
            return
        self.seen.add(real)
        self.cp.imported_files.append(os.path.abspath(path))
        if path.endswith(".bpf.c"):
            raise ImportFailure(f"cannot import '{path}': BPF C sources need a C compiler "
                                "(clang), which pytrace does not use")
        if path.endswith(".h"):  # its type definitions join the program's
            self.preprocess(Source(path, f'#include "{os.path.abspath(path)}"\n'))
            return
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
        except OSError as exc:
            raise ImportFailure(f"cannot import '{path}': {exc.strerror}") from None
        self.merge(Source(path, text), os.path.dirname(os.path.abspath(path)))

    def preprocess(self, source: Source) -> Front | None:
        """The C preamble of an imported file (pytrace/cdefs): its types join the
        program's table; the text the parser reads comes back (None after an error)."""
        from pytrace.cdefs.frontend import front
        from pytrace.diagnostics import CompileError

        try:
            pre = front(source, self.cp.options.include_dirs)
        except CompileError as exc:
            for d in exc.diagnostics:
                span = dataclasses.replace(d.span, source=source) if d.span else None
                self.cp.diagnostics.items.append(dataclasses.replace(d, span=span))
            return None
        table = self.cp.type_table
        for name, t in pre.types.defined.items():
            table.defined.setdefault(name, t)
        for name, value in pre.types.enumerators.items():
            table.enumerators.setdefault(name, value)
        self.cp.headers.extend(h for h in pre.headers if h not in self.cp.headers)
        return pre

    def merge(self, source: Source, base: str) -> None:
        from pytrace.parser import parse

        pre = self.preprocess(source)
        if pre is None:
            return
        program, diags = parse(Source(source.name, pre.text), False, pre.type_names)
        for d in diags:
            span = dataclasses.replace(d.span, source=source) if d.span else None
            self.cp.diagnostics.items.append(dataclasses.replace(d, span=span))
        if program is None:
            return
        _with_source(program, source)
        self.run(program, base)
        for item in program.preamble:
            if isinstance(item, nodes.Config):
                self.cp.diagnostics.error("an imported script cannot have a config block "
                                          "(only the main script can)", item.span)
            elif not isinstance(item, nodes.Import):
                self.preamble.append(item)
        self.probes.extend(program.probes)
        self.macros.extend(program.macros)
        self.map_decls.extend(program.map_decls)


def run(cp: CheckedProgram) -> None:
    program = cp.program
    imports = [i for i in program.preamble if isinstance(i, nodes.Import)]
    if not imports:
        return
    if cp.options.unstable_import == "error":
        cp.diagnostics.error("imports are disabled by the config (unstable_import=error)",
                             imports[0].span)
        return
    importer = Importer(cp)
    if cp.source.name not in ("stdin", "-", "") and os.path.exists(cp.source.name):
        importer.seen.add(os.path.realpath(cp.source.name))
    importer.run(program, _base_dir(cp.source))
    program.preamble = importer.preamble + [i for i in program.preamble
                                            if not isinstance(i, nodes.Import)]
    program.probes = importer.probes + program.probes
    program.macros = importer.macros + program.macros
    program.map_decls = importer.map_decls + program.map_decls
