"""The macros pass: every use of a `macro` expanded into a block expression.

A call `name(args)` (or `name!(args)`, or a bare `name` for a macro without
parameters) becomes a copy of the macro's body. The parameters say what an argument
must be: `$a` a scratch variable (the body then works on the caller's variable), `@m`
a map without keys (the caller's map), `x` any expression (pasted wherever `x` is
used, so it runs once per use; where the body uses it as a type, `(x *)p` or
`let $v: x`, the argument's type: the caller passes `typeof(T)`). Macros are hygienic: the body sees only what is passed
in: its own variables are private to each expansion (renamed), and a map that is not
a parameter is an error. Arguments are expanded before the macro itself; recursion is
refused with the chain of calls. Macros of the same name may differ by their number
of parameters; a macro overrides a builtin of the same name and arity.
"""

from __future__ import annotations

import copy
import itertools

from pytrace import builtins, nodes
from pytrace.passes.context import CheckedProgram
from pytrace.passes.rewrite import rewrite_children
from pytrace.passes.walk import walk

HYGIENE = nodes.VAR_SUFFIX  # a macro's own variables become `name#macro.N`

class Expander:
    def __init__(self, cp: CheckedProgram) -> None:
        self.cp = cp
        self.diags = cp.diagnostics
        self.macros: dict[str, dict[int, nodes.MacroDef]] = {}
        self.counter = itertools.count(1)
        self.stack: list[str] = []

    def define(self, m: nodes.MacroDef) -> None:
        by_arity = self.macros.setdefault(m.name, {})
        if len(m.params) in by_arity:
            self.diags.error(f"Redefinition of macro: {m.name} (another macro of that name "
                             f"takes {len(m.params)} arguments)", m.span)
            return
        by_arity[len(m.params)] = m

    # ------------------------------------------------------------ finding uses
    def replace(self, node: nodes.Node) -> nodes.Node | None:
        if isinstance(node, nodes.Call) and node.name in self.macros:
            return self.call(node, node.name, node.args)
        if isinstance(node, nodes.Call) and node.bang:
            self.diags.error(f"Unknown macro: {node.name}", node.span)
            return nodes.BlockExpr([], None, node.name, span=node.span)
        if isinstance(node, nodes.Identifier) and node.name in self.macros:
            if 0 in self.macros[node.name]:
                return self.call(node, node.name, [])
        return None

    def call(self, node: nodes.Expr, name: str, args: list[nodes.Expr]) -> nodes.Node | None:
        macro = self.macros[name].get(len(args))
        if macro is None:
            if builtins.function(name) is not None and isinstance(node, nodes.Call):
                return None  # the builtin of that arity
            counts = " or ".join(str(n) for n in sorted(self.macros[name]))
            self.diags.error(f"Macro {name} takes {counts} argument(s) ({len(args)} "
                             "provided)", node.span)
            return nodes.BlockExpr([], None, name, span=node.span)
        if name in self.stack:
            chain = " -> ".join([*self.stack[self.stack.index(name):], name])
            self.diags.error(f"Recursive macro call detected: {chain}", node.span,
                             "macros cannot call themselves, directly or through others")
            return nodes.BlockExpr([], None, name, span=node.span)
        holder = nodes.ExprStmt(nodes.TupleExpr(list(args)))
        rewrite_children(holder, self.replace)  # arguments first, with the caller's stack
        expanded_args = holder.expr.elems  # type: ignore[attr-defined]
        return self.expand(macro, node, expanded_args)

    # ------------------------------------------------------------ one expansion
    def expand(self, macro: nodes.MacroDef, call: nodes.Expr,
               args: list[nodes.Expr]) -> nodes.BlockExpr:
        body = copy.deepcopy(macro.body)
        var_map: dict[str, str] = {}
        map_map: dict[str, str] = {}
        exprs: dict[str, nodes.Expr] = {}
        ok = True
        for param, arg in zip(macro.params, args, strict=True):
            ok = self.bind(macro, param, arg, var_map, map_map, exprs) and ok
        if not ok:
            return nodes.BlockExpr([], None, macro.name, span=call.span)
        tag = f"{HYGIENE}{macro.name}.{next(self.counter)}"
        self.rename(macro, body, var_map, map_map, tag)
        result = nodes.BlockExpr(body.stmts, body.value, macro.name, span=call.span)

        def paste(node: nodes.Node) -> nodes.Node | None:
            if isinstance(node, nodes.Identifier) and node.name in exprs:
                return copy.deepcopy(exprs[node.name])
            if isinstance(node, nodes.TypeName) and node.of is None and node.name in exprs:
                return _type_of(node, exprs[node.name])
            return None

        rewrite_children(result, paste)
        self.stack.append(macro.name)
        try:
            rewrite_children(result, self.replace)
        finally:
            self.stack.pop()
        return result

    def bind(self, macro: nodes.MacroDef, param: nodes.MacroParam, arg: nodes.Expr,
             var_map: dict[str, str], map_map: dict[str, str],
             exprs: dict[str, nodes.Expr]) -> bool:
        if param.kind == "var":
            if not isinstance(arg, nodes.Variable):
                self.diags.error(f"Mismatched argument: macro {macro.name} expects a scratch "
                                 f"variable for ${param.name}", arg.span)
                return False
            var_map[param.name] = arg.name
        elif param.kind == "map":
            if not isinstance(arg, nodes.MapRef) or arg.keys:
                self.diags.error(f"Mismatched argument: macro {macro.name} expects a map "
                                 f"(without a key) for {param.name}", arg.span)
                return False
            map_map[param.name] = arg.name
        else:
            exprs[param.name] = arg
        return True

    def rename(self, macro: nodes.MacroDef, body: nodes.BlockExpr, var_map: dict[str, str],
               map_map: dict[str, str], tag: str) -> None:
        """Parameters to the caller's names; the body's own variables made private; a map
        that is not a parameter is an error."""
        for node in walk(body):
            if isinstance(node, nodes.Variable | nodes.VarDecl):
                node.name = var_map.get(node.name, node.name + tag)
            elif isinstance(node, nodes.For):
                node.var = var_map.get(node.var, node.var + tag)
            elif isinstance(node, nodes.MapRef):
                if node.name in map_map:
                    node.name = map_map[node.name]
                else:
                    self.diags.error(f"Unhygienic access to map {node.name} in macro "
                                     f"{macro.name}", node.span,
                                     "a macro sees only the maps passed to it: add a "
                                     "map parameter (e.g. @m) and pass the map")


def _type_of(tn: nodes.TypeName, arg: nodes.Expr) -> nodes.TypeName:
    """A type parameter used as a type in the body (`(a *)x`, `let $x: a`): the type of
    the argument (`typeof(T)`, or an expression's type), where the body wrote it."""
    of = copy.deepcopy(arg)
    if not isinstance(of, nodes.Typeof):
        of = nodes.Typeof(of, span=arg.span)
    return nodes.TypeName("typeof", tn.pointer_depth, tn.array_size, of, tn.outer_pointers,
                          span=tn.span)


def run(cp: CheckedProgram) -> None:
    """The program's macros, then the standard library's container_of."""
    from pytrace.passes import containerof

    program = cp.program
    if program.macros:  # without any, a `name!()` is unknown: the resolve pass says so
        if cp.options.unstable_macro == "error":
            cp.diagnostics.error("macros are disabled by the config (unstable_macro=error)",
                                 program.macros[0].span)
            return
        expander = Expander(cp)
        for m in program.macros:
            expander.define(m)
        for probe in program.probes:
            rewrite_children(probe, expander.replace)
    if cp.diagnostics.has_errors:
        return
    containerof.run(cp)
