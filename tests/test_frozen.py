"""pytrace.frozen: value classes (equal and hashed by value) without frozen-dataclass cost."""

from __future__ import annotations

import dataclasses
import pathlib

import pytest

from pytrace.frozen import frozen

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "pytrace"


@frozen
class Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = dataclasses.field(default=())


def test_value_semantics() -> None:
    a, b = Point(1, 2), Point(1, 2)
    assert a == b and hash(a) == hash(b) and {a, b} == {a}
    assert Point(1) != Point(2)
    assert dataclasses.replace(a, y=5) == Point(1, 5)
    assert repr(Point(3)) == "Point(x=3, y=0, tags=())"


def test_slotted() -> None:
    p = Point(1)
    with pytest.raises(AttributeError):
        p.z = 1  # type: ignore[attr-defined]
    assert not hasattr(p, "__dict__")


def test_no_frozen_dataclasses_left() -> None:
    """Every immutable record uses @frozen: a frozen dataclass costs start-up time, and a
    frozen dataclass cannot inherit from a @frozen class."""
    offenders = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                 if "dataclass(frozen=True" in p.read_text()]
    assert offenders == []
