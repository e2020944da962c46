"""The builtins registry: entries, flags and type rules on their own."""

from __future__ import annotations

from dataclasses import dataclass, field

from pytrace import builtins, nodes
from pytrace.builtins.args import field_type
from pytrace.diagnostics import Diagnostics
from pytrace.passes.context import Options
from pytrace.probes.target import ProbeTarget, TpField
from pytrace.types import AggT, ArrayT, IntT, PtrT, StrT


@dataclass
class Ctx:
    diags: Diagnostics = field(default_factory=Diagnostics)
    options: Options = field(default_factory=Options)
    targets: list[ProbeTarget] = field(default_factory=list)

    def const_int(self, expr: nodes.Expr) -> int | None:
        return expr.value if isinstance(expr, nodes.Int) else None

    def const_str(self, expr: nodes.Expr) -> str | None:
        return expr.value if isinstance(expr, nodes.Str) else None


LANGUAGE_NAMES = """pid tid uid gid comm nsecs elapsed cpu probe func retval arg0 arg9 args kstack
ustack curtask rand cgroup username numaid cpid ncpus jiffies printf print exit str buf clear
zero delete has_key len time strftime ksym usym kaddr uaddr reg join ntop pton macaddr strerror
system signal override cat cgroupid cgroup_path bswap path count sum avg min max stats hist
lhist strncmp strcontains""".split()


def test_every_language_name_is_registered():
    missing = [n for n in LANGUAGE_NAMES if builtins.lookup(n) is None]
    assert missing == []


def test_flags():
    assert builtins.lookup("system").unsafe and builtins.lookup("signal").unsafe
    assert not builtins.lookup("printf").unsafe
    assert builtins.lookup("hist").aggregation and not builtins.lookup("str").aggregation
    assert builtins.identifier("pid") and builtins.function("pid")
    assert builtins.identifier("printf") is None
    assert builtins.function("args") is None
    assert builtins.lookup("retval").kinds == frozenset({"kretprobe", "uretprobe", "fexit"})
    assert builtins.lookup("clear").map_arg


def call(name: str, *args: nodes.Expr) -> nodes.Call:
    return nodes.Call(name, list(args))


def test_aggregation_rules():
    ctx = Ctx()
    hist = builtins.lookup("hist")
    assert hist.rule(ctx, call("hist", nodes.Int(1), nodes.Int(3)), [IntT(), IntT()]) == \
        AggT("hist", signed=True, hist_bits=3)
    lhist = builtins.lookup("lhist")
    node = call("lhist", nodes.Int(1), nodes.Int(0), nodes.Int(100), nodes.Int(10))
    assert lhist.rule(ctx, node, [IntT(64, False)] * 4) == AggT(
        "lhist", signed=False, lmin=0, lmax=100, lstep=10)
    assert not ctx.diags.has_errors
    lhist.rule(ctx, call("lhist", nodes.Int(1), nodes.Int(5), nodes.Int(1), nodes.Int(0)),
               [IntT()] * 4)
    assert [d.message for d in ctx.diags] == [
        "lhist() min must be less than max (provided min 5 and max 1)",
        "lhist() step must be >= 1 (0 provided)"]


def test_str_rule():
    ctx = Ctx()
    rule = builtins.lookup("str").rule
    assert rule(ctx, call("str", nodes.Int(0)), [IntT()]) == StrT(1024)  # max_strlen
    # str(p, n) keeps n - 1 bytes and the NUL
    assert rule(ctx, call("str", nodes.Int(0), nodes.Int(10)), [IntT(), IntT()]) == StrT(10)
    rule(ctx, call("str", nodes.Str("x")), [AggT("count")])
    assert ctx.diags.errors[0].message == (
        "str() expects an integer or a pointer type as first argument (count provided)")


def test_field_types():
    assert field_type(TpField("f", "const char *", 0, 8, False), True) == PtrT(
        IntT(8, True), user=True, ctype="const char *")
    assert field_type(TpField("f", "void *", 0, 8, False), False) == PtrT(
        None, user=False, ctype="void *")
    assert field_type(TpField("f", "int", 0, 8, True), True) == IntT(64, True)
    assert field_type(TpField("f", "u16", 0, 2, False), True) == IntT(16, False)
    assert field_type(TpField("f", "char[16]", 0, 16, False, 16), True) == StrT(16)
    assert field_type(TpField("f", "u32[4]", 0, 16, False, 4), True) == ArrayT(
        IntT(32, False), 4)
    assert field_type(TpField("f", "__data_loc char[]", 0, 4, False, None, True),
                      True) == StrT(64)
