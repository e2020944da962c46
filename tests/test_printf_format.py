"""Tests for pytrace.printf_format: parsing and C-semantics rendering.

Expected strings come from bpftrace 0.17 runs (`bpftrace -e 'BEGIN { printf(...) }'`) and
from glibc printf for the flags bpftrace 0.17 does not parse (+, space, #).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytrace.printf_format import (
    Conversion,
    FormatError,
    compile_format,
    format_buffer,
    format_printf,
    from_bytewise,
    parse_format,
    to_bytewise,
)
from pytrace.values import Buffer


def test_parse_conversions_and_offsets() -> None:
    fmt = "a %-5.3lld b %s %rx %%"
    convs = parse_format(fmt)
    assert [c.conv for c in convs] == ["d", "s", "rx"]
    first = convs[0]
    assert first == Conversion("d", "-", 5, 3, "ll", 2, 10)
    assert fmt[first.start : first.end] == "%-5.3lld"
    assert [c.kind for c in convs] == ["integer", "string", "buffer"]


def test_percent_percent_is_not_a_conversion() -> None:
    assert parse_format("100%% done") == []
    assert format_printf("100%% done", []) == "100% done"


def test_lone_percent_is_literal() -> None:
    assert parse_format("100%\n") == []
    assert format_printf("100%\n", []) == "100%\n"


@pytest.mark.parametrize(
    ("fmt", "msg"),
    [
        ("%n", "unsupported format specifier: n"),
        ("%q", "invalid format specifier: %q"),
        ("%Ld", "unsupported length modifier: L"),
        ("%5%", "invalid format specifier: %5%"),
    ],
)
def test_bad_conversions(fmt: str, msg: str) -> None:
    with pytest.raises(FormatError, match=msg):
        parse_format(fmt)


@pytest.mark.parametrize(
    ("fmt", "args", "expected"),
    [
        ("[%d] [%5d] [%-5d|] [%05d]", [42, 42, 42, 42], "[42] [   42] [42   |] [00042]"),
        ("[%x] [%X] [%o] [%u]", [255, 255, 8, 7], "[ff] [FF] [10] [7]"),
        ("[%.3d] [%8.3d] [%.0d] [%-08d]", [5, 5, 0, 5], "[005] [     005] [] [5       ]"),
        ("[%s] [%10s] [%-10s|]", ["hello", "hi", "hi"], "[hello] [        hi] [hi        |]"),
        ("[%.2s] [%5.2s|%-5.2s|]", ["hello", "hello", "hello"], "[he] [   he|he   |]"),
        ("[%c] [%5c] [%-3c|] [%c]", [65, 66, 67, 321], "[A] [    B] [C  |] [A]"),
        (
            "[%p] [%p] [%10p|%-10p|]",
            [4096, 0, 255, 255],
            "[0x1000] [(nil)] [      0xff|0xff      |]",
        ),
        ("[%lld %hhd %hd]", [-1, -1, -1], "[-1 -1 -1]"),
        ("[%hhu %hu %lu]", [-1, -1, -1], "[255 65535 18446744073709551615]"),
        ("[%hd] [%hhd]", [70000, 300], "[4464] [44]"),
        ("[%zd] [%jd] [%i]", [9, 10, 7], "[9] [10] [7]"),
        # glibc for flags bpftrace 0.17 cannot parse
        ("[%+d] [% d] [%#x] [%#o] [%#X]", [42, 42, 255, 8, 255], "[+42] [ 42] [0xff] [010] [0XFF]"),
        (
            "[%#o] [%#.0o] [%.0x] [%#5x] [%-#8x|]",
            [0, 0, 0, 0, 26],
            "[0] [0] [] [    0] [0x1a    |]",
        ),
        (
            "[%+05d] [% 05d] [%+.3d] [%5.0d|] [%#5o]",
            [42, 42, 7, 0, 8],
            "[+0042] [ 0042] [+007] [     |] [  010]",
        ),
        ("[%#08x] [%08.3d]", [255, -5], "[0x0000ff] [    -005]"),
    ],
)
def test_render_like_c(fmt: str, args: list[object], expected: str) -> None:
    assert format_printf(fmt, args) == expected


def test_long_conversions_keep_64_bits() -> None:
    assert format_printf("%ld", [2**64 - 1]) == "-1"
    assert format_printf("%lu", [-1]) == "18446744073709551615"
    assert format_printf("%llx", [-1]) == "ffffffffffffffff"
    assert format_printf("%lld", [-(2**63)]) == "-9223372036854775808"
    assert format_printf("%zu", [2**63]) == "9223372036854775808"


def test_no_length_modifier_means_a_c_int() -> None:
    """Like bpftrace, a value printed without l/ll is first converted to a C int."""
    assert format_printf("%d", [2**32 + 1]) == "1"
    assert format_printf("%d", [2**64 - 1]) == "-1"
    assert format_printf("%u", [-1]) == "4294967295"
    assert format_printf("%x %X %o", [-1, 2**32 + 255, 2**32 + 8]) == "ffffffff FF 10"
    assert format_printf("%i", [2**31]) == "-2147483648"


def test_strings_from_bytes_stop_at_nul() -> None:
    assert format_printf("<%s>", [b"abc\0junk"]) == "<abc>"
    assert format_printf("<%s>", [b"\xff\xfeok"]) == "<\ufffd\ufffdok>"


def test_buffers() -> None:
    data = b"AB\tc\x01\x00"
    out = format_printf("[%r] [%rx] [%rh]", [data, data, data])
    assert out == "[AB\\x09c\\x01\\x00] [\\x41\\x42\\x09\\x63\\x01\\x00] [41 42 09 63 01 00]"
    assert format_buffer(b"") == ""


def test_argument_count_mismatch_raises() -> None:
    with pytest.raises(FormatError, match="not enough arguments"):
        format_printf("%d %d", [1])
    with pytest.raises(FormatError, match="too many arguments"):
        format_printf("%d", [1, 2])


def test_compile_is_cached() -> None:
    assert compile_format("x=%d\n") is compile_format("x=%d\n")


@given(
    st.integers(min_value=-(2**63), max_value=2**63 - 1), st.sampled_from(["", "5", "-7", "020"])
)
def test_matches_python_for_plain_signed(n: int, width: str) -> None:
    assert format_printf(f"%{width}ld", [n]) == f"%{width}d" % n
    assert format_printf(f"%{width}lx", [n]) == f"%{width}x" % (n & (2**64 - 1))
    low = n & (2**32 - 1)
    assert format_printf(f"%{width}d", [n]) == f"%{width}d" % (low - 2**32 if low >> 31 else low)


# ------------------------------------------------------------------ python_template


def _as_read(v: int, code: str) -> int:
    """An argument as the fast path reads it: its 8-byte record slot unpacked by `code`."""
    import struct

    return struct.unpack_from("<" + code, struct.pack("<Q", v & (2**64 - 1)))[0]


def _via_template(fmt: str, values: list[object]) -> str:
    from pytrace.printf_format import python_template

    tmpl = python_template(fmt)
    assert tmpl is not None, fmt
    args = [v if code == "s" else _as_read(v, code)  # type: ignore[arg-type]
            for v, code in zip(values, tmpl.args, strict=True)]
    if tmpl.bytewise:
        args = [to_bytewise(v) if isinstance(v, str) else v for v in args]
        return from_bytewise(tmpl.text % tuple(args))
    return tmpl.text % tuple(args)


_EDGE_INTS = [0, 1, -1, 7, -7, 42, 255, 256, -129, 65535, 65536, -32769, 2**31, -(2**31),
              2**32 + 5, 2**63 - 1, -(2**63), 2**64 - 1, 0x7F, 0x80, 0xDEADBEEF]


def _int_formats() -> list[str]:
    out = []
    for conv in "diuxXo":
        for flags in ("", "-", "0", "+", " ", "-0", "+0", " -", "+ ", "-+0 "):
            for width in ("", "1", "6", "20"):
                for prec in ("", ".1", ".3", ".22"):
                    for length in ("", "h", "hh", "ll", "z"):
                        out.append(f"%{flags}{width}{prec}{length}{conv}")
    return out


def test_templates_render_every_integer_conversion_like_the_general_path() -> None:
    from pytrace.printf_format import python_template

    formats = _int_formats()
    assert all(python_template(f) is not None for f in formats)
    for fmt in formats:
        for v in _EDGE_INTS:
            assert _via_template(fmt, [v]) == format_printf(fmt, [v]), (fmt, v)


def test_templates_render_strings_like_the_general_path() -> None:
    texts = ["", "a", "bash", "exactly16chars!!", "naïve ✓", "tab\there", "100%"]
    for flags in ("", "-", "0", "+", " ", "#", "-0"):
        for width in ("", "1", "5", "18"):
            for prec in ("", ".0", ".2", ".30"):
                fmt = f"%{flags}{width}{prec}s"
                for t in texts:
                    assert _via_template(fmt, [t]) == format_printf(fmt, [t]), (fmt, t)
                for n in (0, -5, 2**63 - 1):  # an integer shown by %s
                    assert _via_template(fmt, [n]) == format_printf(fmt, [n]), (fmt, n)


def test_templates_keep_literal_text_and_percent_signs() -> None:
    for fmt in ["plain\n", "100%% done %d\n", "100%\n", "%d%%%s%%\n", "%% %%%%", "a%%b %-4d|"]:
        values: list[object] = [5, "x"][:len(parse_format(fmt))]
        assert _via_template(fmt, values) == format_printf(fmt, values), fmt


def test_conversions_without_an_identical_template_use_the_general_path() -> None:
    from pytrace.printf_format import python_template

    for fmt in ["%c", "%p", "%r", "%rx", "%rh", "%#x", "%#X", "%#o", "%.0d", "%5.0x",
                "%d %c", "%s %p"]:
        assert python_template(fmt) is None, fmt


@given(st.integers(min_value=-(2**63), max_value=2**64 - 1),
       st.sampled_from(_int_formats()))
def test_templates_match_for_any_integer(v: int, fmt: str) -> None:
    assert _via_template(fmt, [v]) == format_printf(fmt, [v])


def test_a_buffer_prints_with_s_as_with_r() -> None:
    assert format_printf("<%s>", [Buffer(b"w\0\x01")]) == "<w\\x00\\x01>"
    assert format_printf("<%s>", [b"w\0\x01"]) == "<w>"  # other raw bytes: text to NUL


def test_s_width_and_precision_count_bytes_like_c() -> None:
    assert format_printf("%-6s|%6s|%.2s|%3s|", ["é", "日本", "éa", "ab"]) == "é    |日本|é| ab|"
    assert format_printf("%.1s|", ["é"]) == "\ufffd|"  # C cuts the character in two
    assert _via_template("%-6s|%6s|", ["é", "日本"]) == "é    |日本|"
