"""Family names, label names and label values (pytrace.prometheus.naming)."""

from __future__ import annotations

import pytest

from pytrace.prometheus.naming import family_name, label_names, label_value
from pytrace.values import Stack


@pytest.mark.parametrize(("name", "family"), [
    ("@opens", "pytrace_opens"), ("@", "pytrace_anon"), ("@read_bytes", "pytrace_read_bytes"),
    ("@ünï", "pytrace__n_"), ("@x9", "pytrace_x9"),
])
def test_family_names(name: str, family: str) -> None:
    assert family_name(name) == family


def test_label_names_from_the_compiler_or_positional() -> None:
    assert label_names(("comm",), 1) == ("comm",)
    assert label_names(("pid", "filename"), 2) == ("pid", "filename")
    assert label_names((), 2) == ("key0", "key1")
    assert label_names(("t",), 2) == ("key0", "key1")  # a tuple variable decoded as 2
    assert label_names((), 0) == ()


def test_reserved_label_names_become_positional() -> None:
    assert label_names(("le", "comm"), 2, ("le",)) == ("key0", "comm")
    assert label_names(("key1", "le"), 2, ("le",)) == ("key1", "key1_1")
    assert label_names(("quantile",), 1, ("quantile",)) == ("key0",)
    assert label_names(("le",), 1) == ("le",)  # only reserved where the type reserves it


@pytest.mark.parametrize(("value", "text"), [
    (42, "42"), (-3, "-3"), (True, "true"), ("bash", "bash"),
    ('a"b\\c\nd', 'a"b\\c\nd'),  # kept as is: the exposition escapes it
    ("bad\udcffbyte", "bad\ufffdbyte"), (b"ab\x00\xff", "ab\\x00\\xff"),
    ((1, "x"), "(1, x)"), ({"a": 1}, "{a=1}"), ([1, 2], "[1,2]"), (None, ""),
    (Stack(("inner+1", "middle+2", "outer+3")), "outer+3;middle+2;inner+1"),
])
def test_label_values(value: object, text: str) -> None:
    assert label_value(value) == text
