"""`[HOST:]PORT` parsing (pytrace.prometheus.address)."""

from __future__ import annotations

import pytest

from pytrace.prometheus.address import AddressError, parse_address


@pytest.mark.parametrize(("text", "expected"), [
    ("9100", ("0.0.0.0", 9100)), (":9100", ("0.0.0.0", 9100)),
    ("127.0.0.1:9100", ("127.0.0.1", 9100)), ("localhost:0", ("localhost", 0)),
    ("[::1]:9100", ("::1", 9100)), ("[::]:80", ("::", 80)), (" 8080 ", ("0.0.0.0", 8080)),
])
def test_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "host:", "::1:9100", "1.2.3.4:99999", "a:b:1",
                                  "9100/metrics"])
def test_bad_addresses_are_one_line_errors(text: str) -> None:
    with pytest.raises(AddressError, match=r"^invalid address '.*': expected \[HOST:\]PORT"):
        parse_address(text)
