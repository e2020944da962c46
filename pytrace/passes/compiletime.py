"""Pass 7: what is decided before the program runs, after the types are known.

- `static_assert(cond, msg)` and `fail(fmt, args)`: checked here, with `if` branches
  whose condition is a constant folded away first (`if ($1 < 2) { fail(...) }`);
- `Unreachable statement.`: a warning on the first statement after exit(), return,
  break or continue (or an if/else whose branches all end that way);
- getopt(): the named program parameters are declared consistently, and every
  `--name` given on the command line is one the program reads.
"""

from __future__ import annotations

from pytrace import nodes
from pytrace.diagnostics import Diagnostics
from pytrace.passes.context import CheckedProgram
from pytrace.passes.walk import children, probe_roots, walk

_ARITH = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: int(a / b) if b else 0, "%": lambda a, b: a - int(a / b) * b if b else a,
    "&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b,
    "<<": lambda a, b: a << (b & 63), ">>": lambda a, b: a >> (b & 63),
    "==": lambda a, b: int(a == b), "!=": lambda a, b: int(a != b),
    "<": lambda a, b: int(a < b), "<=": lambda a, b: int(a <= b),
    ">": lambda a, b: int(a > b), ">=": lambda a, b: int(a >= b),
}


def const_value(cp: CheckedProgram, e: nodes.Expr) -> int | str | None:
    """The value of a constant expression (literals, $N, #defines, sizeof, arithmetic,
    comparisons, logic, has_cpid, typeinfo fields), or None when it is only known at run time."""
    if isinstance(e, nodes.Int | nodes.Str):
        return e.value
    if e in cp.constants:
        return cp.constants[e]
    if isinstance(e, nodes.Identifier | nodes.Call) and e.name == "has_cpid":
        return int(cp.options.has_child)
    if isinstance(e, nodes.Unary):
        v = const_value(cp, e.operand)
        if not isinstance(v, int):
            return None
        return {"-": -v, "!": int(not v), "~": ~v}.get(e.op)
    if isinstance(e, nodes.Binary):
        return _binary(cp, e)
    if isinstance(e, nodes.FieldAccess) and e.expr in cp.typeinfo_fields:
        return cp.typeinfo_fields[e.expr].get(e.field_name)
    if isinstance(e, nodes.Ternary):
        c = const_value(cp, e.cond)
        if not isinstance(c, int):
            return None
        return const_value(cp, e.then if c else e.otherwise)
    return None


def _binary(cp: CheckedProgram, e: nodes.Binary) -> int | None:
    a = const_value(cp, e.left)
    if e.op in ("&&", "||") and isinstance(a, int):
        if (e.op == "&&") != bool(a):
            return int(bool(a))
        b = const_value(cp, e.right)
        return int(bool(b)) if isinstance(b, int) else None
    b = const_value(cp, e.right)
    if isinstance(a, str) and isinstance(b, str) and e.op in ("==", "!="):
        return int((a == b) == (e.op == "=="))
    if not (isinstance(a, int) and isinstance(b, int)) or e.op not in _ARITH:
        return None
    return int(_ARITH[e.op](a, b))


def _calls(node: nodes.Node) -> list[nodes.Call]:
    """The calls inside one statement's expressions (not inside nested blocks)."""
    out: list[nodes.Call] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, nodes.Call):
            out.append(n)
        stack.extend(c for c in children(n) if not isinstance(c, nodes.Block))
    return out


class Checker:
    def __init__(self, cp: CheckedProgram) -> None:
        self.cp = cp
        self.diags: Diagnostics = cp.diagnostics

    def block(self, blk: nodes.Block) -> bool:
        """Check a block; whether it always jumps away (exit, return, break, continue)."""
        ends = False
        for s in blk.stmts:
            if ends:
                self.diags.warning("Unreachable statement.", s.span)
                break
            ends = self.stmt(s)
        return ends

    def stmt(self, s: nodes.Stmt) -> bool:
        if isinstance(s, nodes.If):
            return self.if_stmt(s)
        head: nodes.Node = s
        if isinstance(s, nodes.While):
            head = s.cond
        elif isinstance(s, nodes.For):
            head = s.iterable
        elif isinstance(s, nodes.Unroll):
            head = s.count
        for call in _calls(head):
            self.call(call)
        if isinstance(s, nodes.While | nodes.For | nodes.Unroll):
            self.block(s.body)
            return False
        if isinstance(s, nodes.Return | nodes.Break | nodes.Continue):
            return True
        return isinstance(s, nodes.ExprStmt) and isinstance(s.expr, nodes.Call) \
            and s.expr.name == "exit"

    def if_stmt(self, s: nodes.If) -> bool:
        for call in _calls(s.cond):
            self.call(call)
        cond = const_value(self.cp, s.cond)
        if isinstance(cond, int):  # only the branch taken is compiled
            taken = s.then if cond else s.otherwise
            if taken is not None:
                self.block(taken)
            # what follows is not reported unreachable: `if ($# != 1) { exit(); }`
            # must stay quiet when the script is run without its argument
            return False
        then_ends = self.block(s.then)
        else_ends = self.block(s.otherwise) if s.otherwise is not None else False
        return then_ends and else_ends

    def call(self, call: nodes.Call) -> None:
        if call.name == "static_assert":
            self.static_assert(call)
        elif call.name == "fail":
            self.fail(call)

    def static_assert(self, call: nodes.Call) -> None:
        if not call.args:
            return
        cond = const_value(self.cp, call.args[0])
        if not isinstance(cond, int):
            self.diags.error("static_assert() expects a condition known when the program is "
                             "compiled", call.args[0].span)
        elif not cond:
            msg = const_value(self.cp, call.args[1]) if len(call.args) > 1 else None
            self.diags.error(str(msg) if msg else "static_assert failed", call.span)

    def fail(self, call: nodes.Call) -> None:
        from pytrace.printf_format import FormatError, format_printf

        values = [const_value(self.cp, a) for a in call.args]
        if any(v is None for v in values):
            self.diags.error("fail() arguments must be literals (they are evaluated when the "
                             "program is compiled)", call.span)
            return
        try:
            msg = format_printf(str(values[0]), values[1:])
        except FormatError as exc:
            msg = f"fail: {exc}"
        self.diags.error(msg, call.span)


def check_named_params(cp: CheckedProgram) -> None:
    """getopt() names: one default per name; every `--name` given is read."""
    seen: dict[str, tuple[object, str, str]] = {}
    for checked in cp.probes:
        for root in probe_roots(checked.probe):
            for n in walk(root):
                if isinstance(n, nodes.Call) and n.name == "getopt" and n.args:
                    _declare(cp, seen, n)
    for name in cp.options.named_params:
        if name not in seen:  # the CLI's wording (it checks before compiling)
            cp.diagnostics.error(f"unknown named parameter: --{name} (the program has no "
                                 f'getopt("{name}"))')


def _declare(cp: CheckedProgram, seen: dict[str, tuple[object, str, str]],
             n: nodes.Call) -> None:
    name = const_value(cp, n.args[0])
    if not isinstance(name, str):
        return
    default = const_value(cp, n.args[1]) if len(n.args) > 1 else False
    is_bool = len(n.args) == 1 or isinstance(n.args[1], nodes.Int) and n.args[1].boolean
    word = "bool" if is_bool else "string" if isinstance(default, str) else "int"
    desc = const_value(cp, n.args[2]) if len(n.args) > 2 else ""
    if name in seen and seen[name][0] != default:
        previous = seen[name][0]
        shown = ("true" if previous else "false") if seen[name][1] == "bool" else previous
        cp.diagnostics.error(f"Command line option '{name}' needs to have the same default "
                             f"value in all places it is used. Previous default value: "
                             f"{shown}", n.span)
        return
    if name not in seen:
        seen[name] = (default, word, str(desc or ""))
        shown = ("true" if default else "false") if word == "bool" else str(default)
        cp.named_params.append((name, word, shown, str(desc or "")))


def run(cp: CheckedProgram) -> None:
    checker = Checker(cp)
    for checked in cp.probes:
        checker.block(checked.probe.body)
    check_named_params(cp)
