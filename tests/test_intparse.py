"""intparse.to_uint: bpftrace's integer text rules and messages."""

from __future__ import annotations

import pytest

from pytrace.intparse import IntParseError, to_uint


@pytest.mark.parametrize(("text", "value"), [
    ("123", 123), ("0x1f", 31), ("0X10", 16), ("0b101", 5), ("017", 15), ("1_000", 1000),
    ("1e3", 1000), ("5u", 5), ("2ms", 2_000_000), ("1s", 1_000_000_000), (" 42", 42),
    ("-5", (1 << 64) - 5),  # strtoull wraps a negative number
])
def test_values(text: str, value: int) -> None:
    assert to_uint(text) == value


@pytest.mark.parametrize(("text", "message"), [
    ("abc", "invalid integer: abc"),
    ("", "invalid integer: "),
    ("12x", "invalid trailing bytes: 12x"),
    ("08", "invalid trailing bytes: 08"),
    ("0xZZ", "invalid integer: ZZ"),
    ("12e3", "coefficient part of scientific literal must be 1-9: 12e3"),
    ("99999999999999999999", "overflow error, maximum value is 18446744073709551615: "
                             "99999999999999999999"),
    ("5000000000u", "overflow error, maximum value is 4294967295: 5000000000u"),
])
def test_errors(text: str, message: str) -> None:
    with pytest.raises(IntParseError) as info:
        to_uint(text)
    assert str(info.value) == message
