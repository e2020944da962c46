"""Pass 3: identifiers, calls and positional parameters resolved.

Identifiers become #define constants or builtins (registry); `$N`/`$#` become constants
from Options.params (numeric text -> int, other text -> string, a missing `$N` -> 0 as
in bpftrace). Unknown names, builtins used in the wrong probe kind and unsafe functions
without --unsafe are located errors.
"""

from __future__ import annotations

from pytrace import builtins, nodes
from pytrace.builtins.base import name_span
from pytrace.diagnostics import Diagnostics
from pytrace.passes.context import CheckedProgram
from pytrace.passes.typenames import base_type
from pytrace.passes.walk import children, probe_roots
from pytrace.probes.target import ProbeTarget


def param_value(params: list[str], index: int) -> int | str:
    """The value of `$index`: an int for numeric text (and when missing), else the text."""
    if index < 1 or index > len(params):
        return 0
    text = params[index - 1]
    try:
        return int(text.strip(), 0)
    except ValueError:
        return text


def not_utf8(value: int | str, what: str, node: nodes.Node, diags: Diagnostics) -> bool:
    """Error (and True) when a text that came from a file or argv held bytes that are
    not UTF-8 (kept as surrogates): such a string cannot be compiled."""
    if isinstance(value, int):
        return False
    bad = next((c for c in value if "\udc80" <= c <= "\udcff"), None)
    if bad is None:
        return False
    diags.error(f"invalid UTF-8 in {what} (byte 0x{ord(bad) - 0xDC00:02x})", node.span)
    return True


def _kinds_text(kinds: frozenset[str]) -> str:
    ordered = sorted(kinds)
    if len(ordered) == 1:
        return f"'{ordered[0]}'"
    return ", ".join(f"'{k}'" for k in ordered[:-1]) + f" and '{ordered[-1]}'"


def check_kinds(name: str, node: nodes.Expr, entry: builtins.Builtin,
                targets: list[ProbeTarget], diags: Diagnostics, call: bool) -> None:
    """Error when a builtin is used in a probe kind it does not support."""
    if entry.kinds is None:
        return
    bad = sorted({t.kind for t in targets if t.kind not in entry.kinds})
    if not bad:
        return
    what = f"{name}()" if call else f"The {name} builtin"
    hints = [f"it can be used with {_kinds_text(entry.kinds)} probes"]
    if name == "retval" and "tracepoint" in bad:
        hints.append("use args.ret in tracepoint:syscalls:sys_exit_* probes")
    kinds = ", ".join(f"'{k}'" for k in bad)
    diags.error(f"{what} can not be used with {kinds} probes", node.span, *hints)


def _is_config_read(node: nodes.Node, cp: CheckedProgram) -> bool:
    """`config.NAME` (unless a #define or enum names something `config`)."""
    return isinstance(node, nodes.FieldAccess) and isinstance(node.expr, nodes.Identifier) \
        and node.expr.name == "config" and "config" not in cp.constants_by_name \
        and cp.type_table.enumerator("config") is None


class Resolver:
    def __init__(self, cp: CheckedProgram, targets: list[ProbeTarget]) -> None:
        self.cp = cp
        self.targets = targets
        self.diags = cp.diagnostics

    def visit(self, node: nodes.Node) -> None:
        if _is_config_read(node, self.cp):
            self.config_field(node)  # type: ignore[arg-type]
            return
        if isinstance(node, nodes.Identifier):
            self.identifier(node)
        elif isinstance(node, nodes.PositionalParam):
            value = param_value(self.cp.options.params, node.index)
            if not_utf8(value, f"positional parameter ${node.index}", node, self.diags):
                return
            self.cp.constants[node] = value
        elif isinstance(node, nodes.PositionalCount):
            self.cp.constants[node] = len(self.cp.options.params)
        elif isinstance(node, nodes.Call):
            self.call(node)
            return
        elif isinstance(node, nodes.Sizeof | nodes.Offsetof | nodes.Cast | nodes.Typeof
                        | nodes.Typeinfo | nodes.TypeName):
            # Type names inside are not identifiers (a bare name in sizeof/offsetof/
            # typeof may name a type); visit expression children only.
            for child in children(node):
                if not self.names_type(node, child):
                    self.visit(child)
            return
        for child in children(node):
            self.visit(child)

    def names_type(self, parent: nodes.Node, child: nodes.Node) -> bool:
        """Whether `child` of a type context is a type name rather than an expression."""
        if isinstance(child, nodes.TypeName):
            return child.of is None
        if isinstance(child, nodes.Index) and isinstance(child.index, nodes.Int) \
                and isinstance(child.expr, nodes.Identifier) \
                and not isinstance(parent, nodes.Cast):
            # `sizeof(pid_t[2])`: an array of a named type (when the name is a type)
            name = child.expr.name
            return builtins.identifier(name) is None and name not in self.cp.constants_by_name \
                and base_type(name, self.cp.type_table) is not None
        if not isinstance(child, nodes.Identifier) or isinstance(parent, nodes.Cast):
            return False
        if child.name in self.cp.constants_by_name or builtins.identifier(child.name) \
                or child.name in self.cp.defines:
            return False
        return base_type(child.name, self.cp.type_table) is not None \
            or self.cp.type_table.enumerator(child.name) is None

    def config_field(self, node: nodes.FieldAccess) -> None:
        """`config.max_strlen`: the effective value of a config variable, a constant."""
        value = self.cp.config.get(node.field_name)
        if value is None:
            self.diags.error(f"Unknown config variable: {node.field_name}", node.span)
            return
        self.cp.constants[node] = int(value) if isinstance(value, bool) else value

    def identifier(self, node: nodes.Identifier) -> None:
        if node.name in self.cp.constants_by_name:
            self.cp.constants[node] = self.cp.constants_by_name[node.name]
            return
        if node.name in self.cp.defines:
            self.diags.error(f"#define {node.name} is not an integer or string constant "
                             f"('{self.cp.defines[node.name]}')", node.span)
            return
        entry = builtins.identifier(node.name)
        if entry is None and node.name == "config":
            self.diags.error("The config record is not implemented by pytrace: read one "
                             "variable at a time (config.max_strlen)", node.span)
            return
        if entry is None:
            found = self.cp.type_table.enumerator(node.name)
            if found is not None:  # an enum value (the program's C enums, then BTF's)
                self.cp.constants[node] = found[1]
                self.cp.constant_types[node] = found[0]
                return
            self.diags.error(f"Unknown identifier: '{node.name}'", node.span)
            return
        check_kinds(node.name, node, entry, self.targets, self.diags, call=False)

    def call(self, node: nodes.Call) -> None:
        entry = builtins.function(node.name)
        if entry is None and node.bang:
            self.diags.error(f"Unknown macro: {node.name}", node.span)
        elif entry is None:
            self.diags.error(f"Unknown function: {node.name}", name_span(node))
        else:
            if entry.unsafe and not self.cp.options.unsafe:
                self.diags.error(f"{node.name}() is an unsafe function being used in safe mode",
                                 node.span, "run with --unsafe to allow it")
            check_kinds(node.name, node, entry, self.targets, self.diags, call=True)
        for arg in node.args:
            if entry is not None and entry.raw_args and isinstance(arg, nodes.Identifier):
                continue
            self.visit(arg)


def run(cp: CheckedProgram) -> None:
    for checked in cp.probes:
        resolver = Resolver(cp, checked.targets)
        for root in probe_roots(checked.probe):
            resolver.visit(root)
