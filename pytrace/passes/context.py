"""CheckedProgram: what the passes hand to codegen (and nothing else does)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pytrace import nodes
from pytrace.diagnostics import Diagnostics
from pytrace.frozen import frozen
from pytrace.options import Options
from pytrace.probes.target import ProbeTarget
from pytrace.source import Source, Span
from pytrace.types import Type
from pytrace.typetable import TypeTable


@frozen
class MapDeclInfo:
    """A map declaration (`let @m = lruhash(100);`): the map type word and max entries."""

    kind: str
    max_entries: int
    span: Span

    @property
    def percpu(self) -> bool:
        return self.kind.startswith("percpu")


@dataclass(slots=True)
class MapInfo:
    """A map declared automatically from its uses.

    key_type: None for an unkeyed map; the single key's type for `@m[k]`; a TupleT of
      the key types for `@m[k1, k2]` (a tuple used as a single key is TupleT too, with
      multi_key False). value_type: an AggT for aggregations, else the stored type.
    """

    name: str
    key_type: Type | None
    value_type: Type
    span: Span
    multi_key: bool = False
    decl: MapDeclInfo | None = None
    key_names: tuple[str, ...] = ()  # label names from the first keyed access (keynames.py)


@dataclass(slots=True)
class CheckedProbe:
    """A probe block with its attach points expanded (one BPF program per target).

    targets: every target (the block is typed for all of them); compiled: the ones that
    get a program (None: all) — the run mode and --probe-filter leave some out."""

    probe: nodes.Probe
    targets: list[ProbeTarget]
    compiled: list[ProbeTarget] | None = None

    @property
    def live(self) -> list[ProbeTarget]:
        return self.targets if self.compiled is None else self.compiled


@dataclass(slots=True)
class CheckedProgram:
    """The program after all passes.

    types: the type of every expression node (and of Assign/VarDecl targets).
    variables: scratch variable types per probe block, keyed by (block index, name).
    maps: every map by name ('@', '@x').
    """

    source: Source
    program: nodes.Program
    options: Options
    probes: list[CheckedProbe] = field(default_factory=list)
    maps: dict[str, MapInfo] = field(default_factory=dict)
    types: dict[nodes.Node, Type] = field(default_factory=dict)
    variables: dict[tuple[int, str], Type] = field(default_factory=dict)
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    defines: dict[str, str] = field(default_factory=dict)
    # Added by the passes (compatible additions):
    # constants: the value of every PositionalParam, PositionalCount, Sizeof, Offsetof
    #   and #define'd Identifier node (int or str; the node's type says which).
    constants: dict[nodes.Node, int | str] = field(default_factory=dict)
    constants_by_name: dict[str, int | str] = field(default_factory=dict)  # #define values
    # typeinfos: the record literal each typeinfo() stands for (typed; codegen emits it)
    #   and its fields by name (what comptime conditions read).
    typeinfos: dict[nodes.Node, nodes.RecordExpr] = field(default_factory=dict)
    typeinfo_fields: dict[nodes.Node, dict[str, int | str]] = field(default_factory=dict)
    # comptime: the branch each `if comptime` takes (True: then); the typecheck pass
    #   leaves only that branch in the tree.
    comptime: dict[nodes.Node, bool] = field(default_factory=dict)
    # formats: the format string of every printf/system/cat/time call (a literal or a
    #   #define'd name), resolved by the printf pass; codegen reads only these.
    formats: dict[nodes.Node, str] = field(default_factory=dict)
    # config: every config variable's effective value (environment > config block >
    #   default), as the config pass resolved it into `options`; config_set: the names
    #   the script's block or the environment set explicitly.
    config: dict[str, int | str | bool] = field(default_factory=dict)
    config_set: set[str] = field(default_factory=set)
    # getopt() parameters the program reads: (name, type word, default text, description)
    named_params: list[tuple[str, str, str, str]] = field(default_factory=list)
    c_definitions: dict[str, nodes.CDefinition] = field(default_factory=dict)
    map_decls: dict[str, MapDeclInfo] = field(default_factory=dict)  # by map name
    imported_files: list[str] = field(default_factory=list)  # absolute paths, import order
    # type_table: named C types (the program's C definitions, then kernel BTF);
    # headers: the C headers the preamble included (compile-cache dependencies).
    type_table: TypeTable = field(default_factory=TypeTable)
    # constant_types: the type of a constant that is not a plain int or string (an enum
    #   value named in the program).
    constant_types: dict[nodes.Node, Type] = field(default_factory=dict)
    # tuple_indexes: `t[k]` on a tuple, by Index node: the element k (a constant).
    tuple_indexes: dict[nodes.Node, int] = field(default_factory=dict)
    # sized_casts: `(string[N])x` / `(buffer[N])x`, by Cast node: the str(x, N) / buf(x, N)
    #   call that reads it (typed like any call).
    sized_casts: dict[nodes.Node, nodes.Call] = field(default_factory=dict)
    headers: list[str] = field(default_factory=list)

    def type_of(self, node: nodes.Node) -> Type:
        return self.types[node]
