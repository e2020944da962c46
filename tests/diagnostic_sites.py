"""Finds, with Python's `ast`, every place where pytrace produces a compile-time
diagnostic, and turns each site's message into a regex matcher.

A site is a call that makes a message a user sees when a program does not compile:
`X.error(msg, ...)` / `X.warning(msg, ...)` on a Diagnostics collector, the exceptions
the passes, the driver and codegen turn into diagnostics (`ProbeError`, `CodegenError`,
`TransformError`, `FormatError`, `StackOverflow`, the C front end's `CDefsError`, the
config pass's `ConfigValueError`, the imports pass's `ImportFailure`), a
builtin's `p.fail(msg, ...)`, the parser's `_error(msg, ...)` and
`Diagnostic(severity, msg, ...)`. A message is a str
literal or an f-string (its literal parts escaped, each `{...}` a lazy wildcard); a
conditional message gives one site per branch. A message that is not written at the
site (`e.message`, `str(exc)`) only forwards another site's message and is skipped.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pytrace"

# Code that is not the compiler (loading and running, output, the REPL's own commands,
# `-l` listings, the command line, the Python API, the Prometheus exporter): its errors
# are not compile-time diagnostics.
OUT_OF_SCOPE = ("runtime/", "repl/", "output/", "listing/", "api/", "prometheus/", "cli",
                "info.py", "envconfig.py")

# Exceptions whose message becomes a diagnostic's message (or its tail).
DIAGNOSTIC_EXCEPTIONS = frozenset({"ProbeError", "CodegenError", "TransformError", "FormatError",
                                   "StackOverflow", "CDefsError", "ConfigValueError",
                                   "ImportFailure"})
# (file, constructor) pairs where a plain exception carries a diagnostic's message.
LOCAL_DIAGNOSTIC_EXCEPTIONS = frozenset({("codegen/usdt.py", "ValueError")})
COLLECTOR_NAMES = ("diags", "diagnostics")
WILDCARD = "\0"


@dataclass(frozen=True)
class Site:
    """One message a diagnostic can carry, where it is written."""

    file: str  # relative to pytrace/
    line: int
    parts: tuple[str, ...]  # literal text, WILDCARD for each {...}

    @property
    def text(self) -> str:
        """The message with `{}` for each interpolated part (what allowlists key on)."""
        return "".join("{}" if p == WILDCARD else p for p in self.parts)

    @cached_property
    def regex(self) -> re.Pattern[str]:
        body = "".join(".*?" if p == WILDCARD else re.escape(p) for p in self.parts)
        # the whole message, or its tail after a `prefix: ` (`printf: <FormatError>`)
        return re.compile(f"(?:.*?: )?{body}", re.DOTALL)

    def matches(self, message: str) -> bool:
        return self.regex.fullmatch(message) is not None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.text!r}"


def _callee(call: ast.Call) -> tuple[str, str]:
    """(receiver source text, called name) of a call: ('self.diags', 'error')."""
    f = call.func
    if isinstance(f, ast.Name):
        return "", f.id
    if isinstance(f, ast.Attribute):
        return ast.unparse(f.value), f.attr
    return "", ""


def _message_arg(call: ast.Call, file: str) -> ast.expr | None:
    """The argument holding the message when this call makes a diagnostic."""
    receiver, name = _callee(call)
    args = call.args
    if name in ("error", "warning") and receiver.split(".")[-1] in COLLECTOR_NAMES:
        return args[0] if args else None
    if name in DIAGNOSTIC_EXCEPTIONS or (file, name) in LOCAL_DIAGNOSTIC_EXCEPTIONS:
        return args[0] if args else None
    if name == "fail" and receiver in ("p", "self"):
        return args[0] if args else None
    if name == "_error" and file == "parser.py":
        return args[0] if args else None
    if name == "Diagnostic" and len(args) >= 2:
        return args[1]
    return None


def _variants(node: ast.expr, consts: dict[str, str]) -> list[tuple[str, ...]] | None:
    """The literal/wildcard parts of each message an expression can be; None when the
    message is not written here."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [(node.value,)]
    if isinstance(node, ast.Name) and node.id in consts:
        return [(consts[node.id],)]
    if isinstance(node, ast.JoinedStr):
        parts: list[str] = []
        for v in node.values:
            if isinstance(v, ast.Constant) and isinstance(v.value, str):
                parts.append(v.value)
            else:
                parts.append(WILDCARD)
        return [tuple(parts)]
    if isinstance(node, ast.IfExp):
        a, b = _variants(node.body, consts), _variants(node.orelse, consts)
        return None if a is None or b is None else a + b
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _variants(node.left, consts), _variants(node.right, consts)
        if left is None or right is None:
            return None
        return [x + y for x in left for y in right]
    return None


def _merge(parts: tuple[str, ...]) -> tuple[str, ...]:
    """Adjacent literals joined, adjacent wildcards collapsed, empty literals dropped."""
    out: list[str] = []
    for p in parts:
        if p == "":
            continue
        if out and p != WILDCARD and out[-1] != WILDCARD:
            out[-1] += p
        elif not (out and p == WILDCARD and out[-1] == WILDCARD):
            out.append(p)
    return tuple(out)


def module_constants(trees: list[ast.Module]) -> dict[str, str]:
    """Module-level `NAME = "text"` of every file (a message may be one: NESTED_TOO_DEEPLY);
    a name bound to different texts in different modules is left out."""
    seen: dict[str, set[str]] = {}
    for tree in trees:
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant) \
                    and isinstance(stmt.value.value, str):
                for target in stmt.targets:
                    if isinstance(target, ast.Name) and target.id.isupper():
                        seen.setdefault(target.id, set()).add(stmt.value.value)
    return {name: next(iter(v)) for name, v in seen.items() if len(v) == 1}


def scan_file(path: Path, root: Path = PACKAGE, consts: dict[str, str] | None = None) -> list[Site]:
    file = path.relative_to(root).as_posix()
    tree = ast.parse(path.read_text(), str(path))
    consts = module_constants([tree]) if consts is None else consts
    sites: list[Site] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        arg = _message_arg(node, file)
        if arg is None:
            continue
        for parts in _variants(arg, consts) or []:
            sites.append(Site(file, node.lineno, _merge(parts)))
    return sorted(sites, key=lambda s: (s.file, s.line, s.text))


def in_scope(file: str) -> bool:
    return not any(file == x or file.startswith(x) for x in OUT_OF_SCOPE)


@lru_cache(maxsize=4)
def scan(root: Path = PACKAGE) -> tuple[Site, ...]:
    """Every compile-time diagnostic site of the package."""
    paths = [p for p in sorted(root.rglob("*.py")) if in_scope(p.relative_to(root).as_posix())]
    consts = module_constants([ast.parse(p.read_text(), str(p)) for p in paths])
    out: list[Site] = []
    for path in paths:
        out.extend(scan_file(path, root, consts))
    return tuple(out)


if __name__ == "__main__":
    for site in scan():
        print(site)
