"""The scopes pass: scratch variables scoped to the block they are first assigned or
declared in (bpftrace's rule since 0.22).

A variable exists from its first assignment (or `let`, or a call that writes it:
find's result) to the end of that block, nested blocks included; a `for` variable
exists in its loop. Each distinct variable of
a probe gets a distinct name (the first keeps its own, later ones `name#N`), so the
later passes, which key variables by probe and name, see the scoping; a use outside
any scope of its name is renamed so that it is reported as undefined. `let` may not
redeclare a variable of its own scope nor shadow one of an enclosing scope.
"""

from __future__ import annotations

from pytrace import builtins, nodes
from pytrace.diagnostics import Diagnostics
from pytrace.nodes import VAR_SUFFIX, display_var
from pytrace.passes.context import CheckedProgram
from pytrace.passes.walk import children

UNDEFINED = VAR_SUFFIX + "undefined"


class Scoper:
    """Renames the variables of one probe block."""

    def __init__(self, diags: Diagnostics) -> None:
        self.diags = diags
        self.scopes: list[dict[str, str]] = [{}]
        self.used: dict[str, int] = {}

    def lookup(self, name: str) -> str | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def bind(self, name: str) -> str:
        n = self.used.get(name, 0) + 1
        self.used[name] = n
        unique = name if n == 1 else f"{name}{VAR_SUFFIX}{n}"
        self.scopes[-1][name] = unique
        return unique

    def in_scope(self, stmts: list[nodes.Stmt], value: nodes.Expr | None = None) -> None:
        self.scopes.append({})
        for s in stmts:
            self.visit(s)
        if value is not None:
            self.visit(value)
        self.scopes.pop()

    # ------------------------------------------------------------ nodes
    def visit(self, node: nodes.Node) -> None:
        method = getattr(self, "v_" + type(node).__name__, None)
        if method is not None:
            method(node)
            return
        for child in children(node):
            self.visit(child)

    def v_Block(self, b: nodes.Block) -> None:
        self.in_scope(b.stmts)

    def v_BlockExpr(self, b: nodes.BlockExpr) -> None:
        self.in_scope(b.stmts, b.value)

    def v_Variable(self, v: nodes.Variable) -> None:
        v.name = self.lookup(v.name) or v.name + UNDEFINED

    def v_Assign(self, s: nodes.Assign) -> None:
        self.visit(s.value)
        if isinstance(s.target, nodes.Variable) and s.op is None:
            name = s.target.name
            s.target.name = self.lookup(name) or self.bind(name)
        else:
            self.visit(s.target)

    def v_Call(self, call: nodes.Call) -> None:
        """A variable a call writes (`find(@m, k, $v)`) is assigned by it."""
        entry = builtins.function(call.name)
        out = entry.out_arg if entry is not None else None
        for i, arg in enumerate(call.args):
            if i == out and isinstance(arg, nodes.Variable):
                arg.name = self.lookup(arg.name) or self.bind(arg.name)
            else:
                self.visit(arg)

    def v_VarDecl(self, s: nodes.VarDecl) -> None:
        if s.value is not None:
            self.visit(s.value)
        shown = display_var(s.name)
        if s.name in self.scopes[-1]:
            self.diags.error(f"Variable ${shown} was already declared in this scope", s.span)
        elif self.lookup(s.name) is not None:
            self.diags.error(f"Variable ${shown} shadows a variable of an enclosing scope",
                             s.span, "variable shadowing is not allowed: use another name")
        s.name = self.bind(s.name)

    def v_For(self, s: nodes.For) -> None:
        self.visit(s.iterable)  # the range bounds or the map: in the enclosing scope
        self.scopes.append({})
        if self.lookup(s.var) is not None:
            self.diags.error(f"Loop variable ${display_var(s.var)} shadows a variable of an "
                             "enclosing scope", s.span, "use another name for it")
        s.var = self.bind(s.var)
        self.in_scope(s.body.stmts)
        self.scopes.pop()


def run(cp: CheckedProgram) -> None:
    for probe in cp.program.probes:
        scoper = Scoper(cp.diagnostics)
        if probe.predicate is not None:
            scoper.visit(probe.predicate)
        scoper.visit(probe.body)
