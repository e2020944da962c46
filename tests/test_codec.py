"""The data-only codec: every type and resource dataclass round-trips; anything that is
not an allowed class is refused."""

from __future__ import annotations

import dataclasses
import enum
import typing

import pytest

from pytrace import resources, types
from pytrace.codec import Codec, CodecError, default_codec
from pytrace.resources import EventSpec, FieldSpec, MapKind, MapSpec, ProbeSpec, ProgType, Resources


def _sample(tp: object) -> object:
    """A non-default value for a field annotation (recursing into tuples and unions)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return (_sample(args[0]),)
        return tuple(_sample(a) for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return _sample(next(a for a in args if a is not type(None)))
    samples: dict[object, object] = {int: 3, bool: True, str: "x", types.Type: types.IntT(32, False)}
    if tp in samples:
        return samples[tp]
    raise AssertionError(f"no sample for {tp}")


def _instances() -> list[types.Type]:
    out: list[types.Type] = []
    for obj in vars(types).values():
        if isinstance(obj, type) and issubclass(obj, types.Type) and obj is not types.Type:
            hints = typing.get_type_hints(obj, vars(types))
            kwargs = {f.name: _sample(hints[f.name]) for f in dataclasses.fields(obj)}
            out.append(obj(**kwargs))
    return out


@pytest.mark.parametrize("value", _instances(), ids=lambda v: type(v).__name__)
def test_every_type_subclass_round_trips(value: types.Type) -> None:
    codec = default_codec()
    assert codec.decode(codec.encode(value)) == value
    nested = types.TupleT((value, types.ArrayT(value, 2), types.PtrT(value, True, "x *")))
    assert codec.decode(codec.encode(nested)) == nested


def test_every_type_subclass_is_allowed() -> None:
    subclasses = {c.__name__ for c in vars(types).values()
                  if isinstance(c, type) and issubclass(c, types.Type) and c is not types.Type}
    assert subclasses <= set(default_codec().classes)


def test_resources_round_trip() -> None:
    r = Resources(
        maps=(MapSpec("@x", "map_x", MapKind.PERCPU_HASH, 8, 16, 4096, types.IntT(), types.AggT("avg")),),
        probes=(ProbeSpec(0, "uprobe:/bin/sh:main", "uprobe", "probe_0", ProgType.KPROBE,
                          {"path": "/bin/sh", "offset": 1234}),),
        events=(EventSpec(0, "printf", "%d\n", (FieldSpec(8, types.IntT()),)),),
        probe_names=("a", "b"),
        config=(("k", 1), ("s", "v")),
    )
    codec = default_codec()
    back = codec.decode(codec.encode(r))
    assert back == r
    assert isinstance(back.maps[0].kind, MapKind) and isinstance(back.probes[0].prog_type, ProgType)


def test_a_new_dataclass_in_an_allowed_module_needs_no_change() -> None:
    import types as pytypes

    mod = pytypes.ModuleType("fake_types")

    @dataclasses.dataclass(frozen=True)
    class NewT:
        a: int
        b: tuple[str, ...] = ()

    class Colour(enum.IntEnum):
        RED = 1

    NewT.__module__ = Colour.__module__ = "fake_types"
    mod.NewT, mod.Colour = NewT, Colour  # type: ignore[attr-defined]
    codec = Codec([mod])
    v = NewT(1, ("x",))
    assert codec.decode(codec.encode(v)) == v
    assert codec.decode(codec.encode([Colour.RED, {"k": b"\x00\x01"}])) == [Colour.RED, {"k": b"\x00\x01"}]


class NotAllowed:
    pass


@pytest.mark.parametrize("value", [NotAllowed(), object(), print, {1, 2}])
def test_other_objects_are_not_encoded(value: object) -> None:
    with pytest.raises(CodecError):
        default_codec().encode(value)


@pytest.mark.parametrize("tree", [
    {"C": "os.system", "f": {}},
    {"C": "Popen", "f": {"args": "id"}},
    {"C": "IntT", "f": {"bits": 8, "evil": 1}},
    {"C": "TupleT", "f": {}},
    {"E": "MapKind", "v": 999},
    {"E": "IntT", "v": 1},
    {"T": "notalist"},
    {"D": [[{"T": []}, 1], [[1], 2]]},
    {"B": "zz"},
    {"X": 1},
    {"C": "IntT", "f": {"bits": 8}, "extra": 1},
])
def test_malformed_trees_are_refused(tree: object) -> None:
    with pytest.raises(CodecError):
        default_codec().decode(tree)


def test_allow_list_is_the_two_modules() -> None:
    mods = {c.__module__ for c in default_codec().classes.values()}
    assert mods == {types.__name__, resources.__name__}
