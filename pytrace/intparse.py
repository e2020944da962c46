"""bpftrace's text -> unsigned integer conversion (used for `-p PID`), with its messages.

Accepted: decimal, `0x`/`0b`/leading-0 octal prefixes, `_` separators, a `1e6`-style
exponent and the integer/duration suffixes (`u`, `ul`, `ull`, `l`, `ll`, `ns`, `us`,
`ms`, `s`, `m`, `h`, `d`). Like C's strtoull, a leading `-` wraps around.
"""

from __future__ import annotations

U64_MAX = (1 << 64) - 1

_SUFFIXES: dict[str, tuple[int, int]] = {  # suffix -> (maximum value, multiplier)
    "": (U64_MAX, 1), "u": ((1 << 32) - 1, 1), "ul": (U64_MAX, 1), "ull": (U64_MAX, 1),
    "l": ((1 << 63) - 1, 1), "ll": ((1 << 63) - 1, 1), "ns": (U64_MAX, 1),
    "us": (U64_MAX, 1_000), "ms": (U64_MAX, 1_000_000), "s": (U64_MAX, 1_000_000_000),
    "m": (U64_MAX, 60_000_000_000), "h": (U64_MAX, 3_600_000_000_000),
    "d": (U64_MAX, 86_400_000_000_000),
}
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


class IntParseError(ValueError):
    """The text is not an integer bpftrace accepts; str() is bpftrace's message."""


def _strtoull(text: str, base: int) -> tuple[int, int, bool]:
    """C strtoull: (value, index after the number, overflowed); index 0 = no digits."""
    i, n = 0, len(text)
    while i < n and text[i] in " \t\n\r\f\v":
        i += 1
    neg = i < n and text[i] in "+-" and text[i] == "-"
    if i < n and text[i] in "+-":
        i += 1
    if base in (0, 16) and text[i:i + 2].lower() == "0x" and i + 2 < n and \
            text[i + 2].lower() in _DIGITS[:16]:
        i, base = i + 2, 16
    elif base == 0:
        base = 8 if text[i:i + 1] == "0" else 10
    start, value = i, 0
    while i < n and text[i].lower() in _DIGITS[:base]:
        value = value * base + _DIGITS.index(text[i].lower())
        i += 1
    if i == start:
        return 0, 0, False
    if value > U64_MAX:
        return U64_MAX, i, True
    return ((-value) & U64_MAX if neg else value), i, False


def _overflow(num: str, maximum: int) -> IntParseError:
    return IntParseError(f"overflow error, maximum value is {maximum}: {num}")


def _exponent(num: str, rest: str, value: int) -> tuple[int, str]:
    """Apply an `eN` exponent at the start of `rest`: (value, text after it)."""
    if not (rest[:1] in ("e", "E") and rest[1:2] in tuple("123456789")):
        return value, rest
    if not 0 < value < 10:
        raise IntParseError(f"coefficient part of scientific literal must be 1-9: {num}")
    exp, used, _ = _strtoull(rest[1:], 10)
    for _ in range(exp):
        if value > U64_MAX // 10:
            raise _overflow(num, U64_MAX)
        value *= 10
    return value, rest[1 + used:]


def to_uint(num: str, base: int = 0) -> int:
    """The unsigned value of `num`, or IntParseError with bpftrace's wording."""
    n = num.replace("_", "")
    if base == 0 and len(n) >= 2:
        if n[:2] in ("0x", "0X"):
            return _with_original(n[2:], n[2:], 16)  # bpftrace names the digits only
        if n[:2] in ("0b", "0B"):
            return _with_original(n[2:], n[2:], 2)
        if n[0] == "0" and "0" <= n[1] <= "7":
            return _with_original(n[1:], n[1:], 8)
    return _with_original(num, n, base)


def _with_original(num: str, n: str, base: int) -> int:
    value, end, overflowed = _strtoull(n, base)
    if end == 0:
        raise IntParseError(f"invalid integer: {num}")
    if overflowed:
        raise _overflow(num, U64_MAX)
    value, suffix = _exponent(num, n[end:], value)
    if suffix not in _SUFFIXES:
        raise IntParseError(f"invalid trailing bytes: {num}")
    maximum, mult = _SUFFIXES[suffix]
    if value > maximum // mult:
        raise _overflow(num, maximum)
    return value * mult
