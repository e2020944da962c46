"""Fuzz the passes: random ASTs and mutated programs must give diagnostics, never
exceptions (check() turns internal errors into 'internal error' diagnostics, which the
fuzz treats as failures)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytrace import nodes
from pytrace.parser import parse
from pytrace.passes import check
from pytrace.passes.context import Options
from pytrace.source import Source

NAMES = ["pid", "comm", "args", "retval", "arg0", "kstack", "perf", "foo", "probe", "curtask",
         "N", "cpid", "nsecs"]
CALLS = ["printf", "count", "hist", "lhist", "sum", "str", "buf", "print", "clear", "delete",
         "has_key", "len", "exit", "ksym", "kstack", "system", "foo", "strftime", "ntop",
         "bswap", "strncmp", "join", "time", "zero"]
GOOD_PROBES = ["BEGIN", "END", "t:syscalls:sys_enter_openat", "t:sched:sched_switch", "i:s:1",
               "uprobe:/bin/bash:readline", "ur:/bin/bash:readline", "k:vfs_read",
               "rt:sys_enter", "t:syscalls:sys_enter_read*"]
PROBES = GOOD_PROBES * 4 + ["t:nosuch:x", "foo:bar"]  # mostly valid, to reach later passes
OPS = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "==", "!=", "<", ">", "&&", "||"]
TYPES = ["uint8", "int32", "struct task_struct", "char", "foo"]


def exprs() -> st.SearchStrategy[nodes.Expr]:
    leaves = st.one_of(
        st.integers(-5, 300).map(nodes.Int),
        st.text("ab%ds\\n", max_size=5).map(nodes.Str),
        st.sampled_from(NAMES).map(nodes.Identifier),
        st.sampled_from(["x", "y"]).map(nodes.Variable),
        st.integers(1, 3).map(nodes.PositionalParam),
        st.just(nodes.PositionalCount()),
        st.sampled_from(["@", "@a", "@b"]).map(nodes.MapRef),
    )

    def extend(inner: st.SearchStrategy[nodes.Expr]) -> st.SearchStrategy[nodes.Expr]:
        return st.one_of(
            st.builds(nodes.Binary, st.sampled_from(OPS), inner, inner),
            st.builds(nodes.Unary, st.sampled_from(["-", "!", "~", "*", "&"]), inner),
            st.builds(nodes.Call, st.sampled_from(CALLS), st.lists(inner, max_size=4)),
            st.builds(nodes.MapRef, st.sampled_from(["@", "@a", "@b"]),
                      st.lists(inner, max_size=2)),
            st.builds(nodes.Ternary, inner, inner, inner),
            st.builds(nodes.FieldAccess, inner, st.sampled_from(["filename", "x", "comm"])),
            st.builds(nodes.TupleIndex, inner, st.integers(-1, 3)),
            st.builds(nodes.Index, inner, inner),
            st.builds(nodes.TupleExpr, st.lists(inner, min_size=2, max_size=3)),
            st.builds(nodes.Cast, st.builds(nodes.TypeName, st.sampled_from(TYPES),
                                            st.integers(0, 1)), inner),
            st.builds(nodes.IncDec, st.sampled_from(["++", "--"]), st.booleans(), inner),
            st.builds(nodes.Sizeof, inner),
        )

    return st.recursive(leaves, extend, max_leaves=8)


def stmts(e: st.SearchStrategy[nodes.Expr]) -> st.SearchStrategy[nodes.Stmt]:
    simple = st.one_of(
        st.builds(nodes.ExprStmt, e),
        st.builds(nodes.Assign, e, e, st.sampled_from([None, "+", "<<"])),
        st.builds(nodes.Assign, st.sampled_from(["x", "y"]).map(nodes.Variable), e),
        st.builds(nodes.Assign, st.builds(nodes.MapRef, st.sampled_from(["@", "@a"]),
                                          st.lists(e, max_size=2)), e),
        st.builds(nodes.VarDecl, st.sampled_from(["x", "y"]), st.none(), st.none() | e),
        st.just(nodes.Break()),
        st.builds(nodes.Return, st.none() | e),
    )
    return st.recursive(simple, lambda inner: st.one_of(
        st.builds(nodes.If, e, st.builds(nodes.Block, st.lists(inner, max_size=3))),
        st.builds(nodes.While, e, st.builds(nodes.Block, st.lists(inner, max_size=3))),
        st.builds(nodes.Unroll, e, st.builds(nodes.Block, st.lists(inner, max_size=3))),
        st.builds(nodes.For, st.just("kv"), st.builds(nodes.MapRef, st.just("@a")),
                  st.builds(nodes.Block, st.lists(inner, max_size=2))),
    ), max_leaves=6)


programs = st.builds(
    nodes.Program,
    st.lists(st.builds(nodes.Define, st.just("N"), st.sampled_from(["1", '"s"', "x+1"])),
             max_size=1),
    st.lists(st.builds(
        nodes.Probe,
        st.lists(st.sampled_from(PROBES).map(nodes.AttachPoint), min_size=1, max_size=2),
        st.none() | exprs(),
        st.builds(nodes.Block, st.lists(stmts(exprs()), max_size=5)),
    ), min_size=1, max_size=3),
)


def assert_no_internal_error(program: nodes.Program, opts: Options) -> None:
    cp = check(program, Source("fuzz", ""), opts)
    internal = [d.message for d in cp.diagnostics if d.message.startswith("internal error")]
    assert not internal, internal


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(programs, st.booleans())
def test_random_asts(program: nodes.Program, unsafe: bool) -> None:
    assert_no_internal_error(program, Options(params=["1", "abc"], unsafe=unsafe))


SEEDS = [
    't:syscalls:sys_enter_openat /pid > 1/ { @[comm] = count(); printf("%s\\n", str(args.filename)); }',
    'BEGIN { @x = hist(5); @y[1, "a"] = lhist(2, 0, 10, 1); $t = (1, comm); print($t.1); exit(); }',
    'uretprobe:/bin/bash:readline { @s = sum(retval); if (@s > 5) { clear(@s); } }',
    'BEGIN { for ($kv : @m) { delete(@m, $kv.0); } @m[2] = 3; $i = 0; while ($i < 3) { $i++; } }',
]
TOKENS = ["(", ")", "{", "}", ";", "@", "$", "1", '"x"', "pid", "count()", ",", "+", "args.",
          "=", "==", "[", "]", "/", "printf(", "str(", "%s", "hist("]


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 200), st.integers(0, 3),
                                                  st.sampled_from(TOKENS)), max_size=4))
def test_mutated_programs(seed: str, edits: list[tuple[int, int, str]]) -> None:
    text = seed
    for pos, cut, token in edits:
        p = pos % (len(text) + 1)
        text = text[:p] + token + text[p + cut:]
    source = Source("fuzz", text)
    program, _ = parse(source)
    if program is not None:
        assert_no_internal_error(program, Options(params=["3"]))
