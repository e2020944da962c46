"""The C preprocessor for a program's C definitions (pcpp), set up like a compiler's.

Search path: the program's own `-I` directories, then pytrace's small replacements
for the compiler's headers (stddef.h, stdarg.h, stdbool.h, float.h), then the system
directories. GCC extensions that pycparser cannot parse are defined away
(`__extension__`, asm labels, `__restrict`...); attributes are kept for
`cdefs/attributes.py`, which keeps `packed`. A missing header
or an `#error` becomes a CDefsError naming the file and line.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Mapping

import pcpp

from pytrace.cdefs import Macro
from pytrace.cdefs.attributes import ATTRIBUTE_MACRO, rewrite_attributes
from pytrace.cdefs.errors import CDefsError

SHIPPED_INCLUDE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "include")

# The target as a compiler would describe it (x86_64 Linux, LP64, little-endian).
TARGET_MACROS = {
    "__linux__": "1", "__linux": "1", "__unix__": "1", "__unix": "1", "__ELF__": "1",
    "__STDC__": "1", "__STDC_VERSION__": "201112L", "__STDC_HOSTED__": "1",
    "__CHAR_BIT__": "8", "__SIZEOF_SHORT__": "2", "__SIZEOF_INT__": "4",
    "__SIZEOF_LONG__": "8", "__SIZEOF_LONG_LONG__": "8", "__SIZEOF_POINTER__": "8",
    "__SIZEOF_SIZE_T__": "8", "__LP64__": "1", "_LP64": "1",
    "__ORDER_LITTLE_ENDIAN__": "1234", "__ORDER_BIG_ENDIAN__": "4321",
    "__ORDER_PDP_ENDIAN__": "3412", "__BYTE_ORDER__": "__ORDER_LITTLE_ENDIAN__",
    "__INT_MAX__": "0x7fffffff", "__LONG_MAX__": "0x7fffffffffffffffL",
    "__SCHAR_MAX__": "0x7f", "__SHRT_MAX__": "0x7fff",
    "__LONG_LONG_MAX__": "0x7fffffffffffffffLL",
}
ARCH_MACROS = {
    "x86_64": {"__x86_64__": "1", "__x86_64": "1", "__amd64__": "1", "__amd64": "1"},
    "aarch64": {"__aarch64__": "1"},
}
# GCC spellings pycparser does not parse, made into plain C (or nothing).
GNU_MACROS = {
    "__attribute__(x)": f"{ATTRIBUTE_MACRO}(x)", "__attribute(x)": f"{ATTRIBUTE_MACRO}(x)",
    "__extension__": "",
    "__asm__(x)": "", "__asm(x)": "", "__restrict": "", "__restrict__": "",
    "__inline": "inline", "__inline__": "inline", "__forceinline": "inline",
    "__always_inline": "inline",
    "__volatile__": "volatile", "__volatile": "volatile", "__const": "const",
    "__const__": "const", "__signed__": "signed", "__signed": "signed",
    "__typeof__(x)": "int", "__typeof(x)": "int", "typeof(x)": "int",
    "__alignof__(x)": "8", "_Alignof(x)": "8", "_Alignas(x)": "", "_Noreturn": "",
    "__builtin_offsetof(t, m)": "0",
    "__float128": "double", "_Complex": "", "__complex__": "", "_Thread_local": "",
    "__thread": "", "__auto_type": "int",
}


# Directives pcpp leaves to the compiler, which ignores them.
_DROPPED = frozenset({"warning", "pragma", "ident", "sccs", "include_next", "line",
                      "assert", "unassert", "import",
                      "!"})  # a `#!` line below the first (after a comment), as bpftrace

# Macros pcpp defines itself while it runs.
_DYNAMIC = frozenset({"__FILE__", "__LINE__", "__DATE__", "__TIME__", "__COUNTER__",
                      "__PCPP__", "__PCPP_ALWAYS_FALSE__", "__PCPP_ALWAYS_TRUE__"})


def system_include_dirs() -> list[str]:
    """The directories a compiler searches for <...> headers on this machine."""
    multiarch = f"{os.uname().machine}-linux-gnu"
    dirs = ["/usr/local/include", f"/usr/include/{multiarch}", "/usr/include"]
    return [d for d in dirs if os.path.isdir(d)]


class _Preprocessor(pcpp.Preprocessor):
    """pcpp with errors raised as CDefsError instead of printed."""

    def __init__(self) -> None:
        super().__init__()
        self.line_directive = "#line"
        self.auto_pragma_once_enabled = True
        self.files_read: list[str] = []
        self.program = ""  # the program's own source name (its directives are checked)

    def on_file_open(self, is_system_include: bool, includepath: str):  # type: ignore[no-untyped-def]
        f = super().on_file_open(is_system_include, includepath)
        self.files_read.append(os.path.abspath(includepath))  # only files that opened
        return f

    def on_error(self, file: str, line: int, msg: str) -> None:
        raise CDefsError(msg, line, file)

    def on_include_not_found(self, is_malformed: bool, is_system_include: bool,
                             curdir: str, includepath: str) -> str:
        d = self.lastdirective
        if is_malformed:
            raise CDefsError(f"malformed #include: {includepath}", d.lineno, d.source)
        raise CDefsError(f"'{includepath}' file not found", d.lineno, d.source)

    def on_directive_unknown(self, directive: object, toks: list[object], ifpassthru: bool,
                             precedingtoks: list[object]) -> bool | None:
        name = getattr(directive, "value", "")
        if name == "error":
            text = "".join(getattr(t, "value", "") for t in toks).strip()
            raise CDefsError(f"#error {text}", getattr(directive, "lineno", 0),
                             getattr(directive, "source", ""))
        source = getattr(directive, "source", "")
        if name not in _DROPPED and source in (self.program, os.path.abspath(self.program)):
            # `# a comment` in a script is not a comment: clang refuses it, as here
            raise CDefsError("invalid preprocessing directive", getattr(directive, "lineno", 0),
                             self.program)
        return True  # #warning, #pragma, #ident, #include_next...: dropped

    def on_comment(self, tok: object) -> bool:
        return False


def preprocess(text: str, name: str, include_dirs: Iterable[str] = (),
               defines: Mapping[str, str] | None = None,
               files: list[str] | None = None) -> tuple[str, dict[str, Macro]]:
    """(preprocessed C with #line markers, every macro defined at the end); the headers
    read are appended to `files`."""
    pp = _Preprocessor()
    for d in include_dirs:
        pp.add_path(os.path.abspath(d))
    pp.add_path(SHIPPED_INCLUDE)
    for d in system_include_dirs():
        pp.add_path(d)
    pp.rewrite_paths = []  # keep header paths absolute in the #line markers
    predefined = {**TARGET_MACROS, **ARCH_MACROS.get(os.uname().machine, {}), **GNU_MACROS}
    for key, value in {**predefined, **(defines or {})}.items():
        pp.define(f"{key} {value}")
    builtin = set(pp.macros)
    pp.program = name
    pp.parse(text, name)
    out = io.StringIO()
    try:
        pp.write(out)
    finally:
        if files is not None:
            files.extend(dict.fromkeys(pp.files_read))
    macros = {}
    for mname, m in pp.macros.items():
        if (mname in builtin and mname not in (defines or {})) or mname in _DYNAMIC:
            continue
        macros[mname] = Macro(mname, tuple(m.arglist) if m.arglist is not None else None,
                              "".join(t.value for t in m.value).strip(), bool(m.variadic),
                              getattr(m, "source", "") or "", getattr(m, "lineno", 0) or 0)
    return rewrite_attributes(out.getvalue()), macros
