"""Constant values of object-like macros: chains, expressions, strings, enumerators."""

from __future__ import annotations

from pytrace.cdefs import prepare
from pytrace.cdefs.macros import constant, expand


def test_constants_from_program_and_headers() -> None:
    p = prepare('#include <sys/socket.h>\n#define N 16\n#define NEG (-3)\n#define SH (1 << 4)\n'
                '#define RED "\\033[31m"\n#define TWO "a" "b"\n#define MASK (SH | N - 1)\n'
                "#define F(x) ((x) + 1)\n#define USES_F F(2)\n#define SELF SELF\n"
                "#define EMPTY\n#define BIG 0xffffffffffffffffULL\n"
                "enum e { E_A = 7 };\n#define FROM_ENUM (E_A + 1)\nBEGIN {}", btf=False)
    m, en = p.macros, p.types.enumerators
    assert constant("N", m) == 16 and constant("NEG", m) == -3 and constant("SH", m) == 16
    assert constant("RED", m) == "\x1b[31m" and constant("TWO", m) == "ab"
    assert constant("MASK", m) == 31 and constant("BIG", m) == 2**64 - 1
    assert constant("AF_INET", m) == 2  # AF_INET -> PF_INET -> 2
    assert constant("F", m) is None and constant("USES_F", m) is None
    assert constant("SELF", m) is None and constant("EMPTY", m) is None
    assert constant("FROM_ENUM", m, en) == 8 and constant("FROM_ENUM", m) is None
    assert constant("NOPE", m) is None
    assert expand("N + SH", m) == "16 + ( 1 << 4 )"
