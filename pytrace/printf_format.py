"""printf format strings: parse them (for the checker) and render them (for every record).

`parse_format` lists the conversions of a format; `compile_format` turns a format into a
fast renderer once (cached); `format_printf` renders as bpftrace does: every value is
a 64-bit integer converted to the C type the length modifier names before C formats
it, so without one `%d`/`%u`/`%x` show the low 32 bits (`%u` of -1 prints 4294967295,
`%d` of 2**32+1 prints 1); `hh` keeps 8 bits, `h` 16, `l ll j z t` all 64. Floating conversions (`%e %f %g %a`, upper case
too, `L` allowed) print the integer argument converted to a double. `%s` prints any
value as print() shows it; `%r`/`%rx`/`%rh` print buffers; `%gr` GFP flags by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

from pytrace.frozen import frozen
from pytrace.values import Buffer

__all__ = [
    "Conversion",
    "FormatError",
    "INTEGER_CONVERSIONS",
    "STRING_CONVERSIONS",
    "BUFFER_CONVERSIONS",
    "parse_format",
    "compile_format",
    "format_printf",
    "format_buffer",
    "PyTemplate",
    "from_bytewise",
    "python_template",
    "to_bytewise",
]

MASK64 = (1 << 64) - 1

FLOAT_CONVERSIONS = frozenset("eEfFgGaA")
INTEGER_CONVERSIONS = frozenset({"d", "i", "u", "x", "X", "o", "c", "p", "gr"}) | FLOAT_CONVERSIONS
STRING_CONVERSIONS = frozenset({"s"})
BUFFER_CONVERSIONS = frozenset({"r", "rx", "rh"})

_SPEC = re.compile(
    r"%(?P<flags>[-+ #0]*)(?P<width>\d+)?(?:\.(?P<prec>\d*))?"
    r"(?P<length>hh|h|ll|l|j|z|t|L)?(?P<conv>rx|rh|r|gr|[A-Za-z%])?"
)


class FormatError(Exception):
    """An invalid or unsupported printf format (message in bpftrace's words)."""


@frozen
class Conversion:
    """One `%…` conversion: its parts and its [start, end) offsets in the format."""

    conv: str
    flags: str
    width: int | None
    precision: int | None
    length: str
    start: int
    end: int

    @property
    def kind(self) -> str:
        """'integer', 'string' or 'buffer': the argument type this conversion expects."""
        if self.conv in BUFFER_CONVERSIONS:
            return "buffer"
        if self.conv in STRING_CONVERSIONS:
            return "string"
        return "integer"


# ----------------------------------------------------------------------------- parsing


def _tokens(fmt: str) -> list[str | Conversion]:
    """Split a format into literal text (with %% resolved) and conversions."""
    out: list[str | Conversion] = []
    lit: list[str] = []
    pos, n = 0, len(fmt)
    while pos < n:
        i = fmt.find("%", pos)
        if i < 0:
            lit.append(fmt[pos:])
            break
        lit.append(fmt[pos:i])
        if fmt.startswith("%%", i):
            lit.append("%")
            pos = i + 2
            continue
        m = _SPEC.match(fmt, i)
        assert m is not None  # the pattern always matches at a '%'
        conv = m.group("conv")
        if conv is None:
            # '%' followed by no conversion letter ("100%\n"): literal, as bpftrace does.
            lit.append("%")
            pos = i + 1
            continue
        if conv == "n":
            raise FormatError(f"unsupported format specifier: {conv}")
        if conv == "%" or (
            conv not in INTEGER_CONVERSIONS | STRING_CONVERSIONS | BUFFER_CONVERSIONS
        ):
            raise FormatError(f"invalid format specifier: {m.group(0)}")
        length = m.group("length") or ""
        if length == "L" and conv not in FLOAT_CONVERSIONS:
            raise FormatError(f"unsupported length modifier: {length}")
        prec = m.group("prec")
        if lit:
            out.append("".join(lit))
            lit = []
        out.append(
            Conversion(
                conv=conv,
                flags=m.group("flags"),
                width=int(m.group("width")) if m.group("width") else None,
                precision=None if prec is None else int(prec or "0"),
                length=length,
                start=i,
                end=m.end(),
            )
        )
        pos = m.end()
    if lit and "".join(lit):
        out.append("".join(lit))
    return out


@lru_cache(maxsize=1024)
def _tokens_cached(fmt: str) -> tuple[str | Conversion, ...]:
    return tuple(_tokens(fmt))


def parse_format(fmt: str) -> list[Conversion]:
    """The conversions of `fmt` in order; raises FormatError for a bad one."""
    return [t for t in _tokens_cached(fmt) if isinstance(t, Conversion)]


# --------------------------------------------------------------------------- rendering


def _to_int(v: object) -> int:
    if isinstance(v, int):
        return v
    if isinstance(v, (bytes, bytearray)):
        return int.from_bytes(bytes(v)[:8].ljust(8, b"\0"), "little")
    raise FormatError(f"invalid integer conversion: {v!r}")


_LENGTH_BITS = {"hh": 8, "h": 16, "": 32}  # l ll j z t: 64


def _signed(v: int, length: str) -> int:
    bits = _LENGTH_BITS.get(length, 64)
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def _unsigned(v: int, length: str) -> int:
    return v & ((1 << _LENGTH_BITS.get(length, 64)) - 1)


def _pad(s: str, c: Conversion) -> str:
    w = c.width
    if w is None or len(s) >= w:
        return s
    return s.ljust(w) if "-" in c.flags else s.rjust(w)


def _text(v: object) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, Buffer):  # buf(): as %r shows it
        return format_buffer(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).split(b"\0", 1)[0].decode("utf-8", errors="replace")
    from pytrace.output.text import format_value  # any value prints as print() shows it

    return format_value(v)


def _float_text(x: float, c: Conversion) -> str:
    """C's %e %f %g %a (and upper case) of one double."""
    flags = "".join(f for f in "-+ #0" if f in c.flags)
    width = "" if c.width is None else str(c.width)
    prec = "" if c.precision is None else f".{c.precision}"
    if c.conv in "aA":
        body = _hex_float(x, c.precision)
        body = body.upper() if c.conv == "A" else body
        sign = "-" if body.startswith("-") else "+" if "+" in c.flags else \
            " " if " " in c.flags else ""
        body = sign + body.lstrip("-")
        return _pad(body, c)
    return f"%{flags}{width}{prec}{c.conv}" % x


def _hex_float(x: float, precision: int | None) -> str:
    """C's %a: the shortest exact hexadecimal mantissa (or `precision` digits)."""
    if x != x or x in (float("inf"), float("-inf")):
        return "nan" if x != x else ("-inf" if x < 0 else "inf")
    text = float.hex(x)  # '0x1.8000000000000p+1'
    sign = "-" if text.startswith("-") else ""
    mant, exp = text.lstrip("-")[2:].split("p")
    whole, _, frac = mant.partition(".")
    frac = frac.rstrip("0") if precision is None else frac[:precision].ljust(precision, "0")
    body = whole + ("." + frac if frac else "")
    return f"{sign}0x{body}p{'+' if not exp.startswith('-') else ''}{int(exp)}"


def format_buffer(data: bytes, conv: str = "r") -> str:
    """%r: printable ASCII kept, the rest as \\xNN; %rx: every byte \\xNN; %rh: 'de ad'."""
    if conv == "rh":
        return " ".join(f"{b:02x}" for b in data)
    if conv == "rx":
        return "".join(f"\\x{b:02x}" for b in data)
    return "".join(chr(b) if 32 <= b < 127 else f"\\x{b:02x}" for b in data)


def _int_pyfmt(c: Conversion) -> str:
    """The Python %-conversion that prints like C's for d i u x X o (in the cases
    `_int_simple` accepts): flags C ignores for the conversion are dropped."""
    flags = "".join(f for f in "-+ 0" if f in c.flags)
    if c.conv in "uxXo":
        flags = flags.replace("+", "").replace(" ", "")
    width = "" if c.width is None else str(c.width)
    prec = "" if c.precision is None else f".{c.precision}"
    if c.precision is not None:
        flags = flags.replace("0", "")  # C: a precision disables the 0 flag
    pyconv = "d" if c.conv in "diu" else c.conv
    return f"%{flags}{width}{prec}{pyconv}"


def _int_simple(c: Conversion) -> bool:
    """Whether Python's % prints this integer conversion exactly as C (no precision 0,
    no alternate form of x X o, whose zero and prefix rules differ)."""
    return c.precision != 0 and not ("#" in c.flags and c.conv in "xXo")


def _int_renderer(c: Conversion) -> Callable[[object], str]:
    """A renderer for d i u x X o: Python's % does C except for the few cases fixed here."""
    pyfmt = _int_pyfmt(c)
    signed = c.conv in "di"
    length, alt = c.length, "#" in c.flags
    if not signed and c.conv == "o" and alt:
        return _alt_octal(c)
    simple = _int_simple(c)

    def render(v: object) -> str:
        n = _to_int(v)
        n = _signed(n, length) if signed else _unsigned(n, length)
        if simple:
            return pyfmt % n
        if n == 0:
            body = "" if c.precision == 0 else pyfmt % 0
            return _pad(body, c) if c.precision == 0 else body
        if alt:
            return _alt_hex(n, c)
        return pyfmt % n

    return render


def _alt_hex(n: int, c: Conversion) -> str:
    digits = format(n, c.conv)
    if c.precision is not None:
        digits = digits.rjust(c.precision, "0")
    prefix = "0x" if c.conv == "x" else "0X"
    w = c.width or 0
    if "0" in c.flags and "-" not in c.flags and c.precision is None:
        digits = digits.rjust(w - 2, "0")
    return _pad(prefix + digits, c)


def _alt_octal(c: Conversion) -> Callable[[object], str]:
    def render(v: object) -> str:
        n = _unsigned(_to_int(v), c.length)
        digits = format(n, "o")
        if c.precision is not None:
            digits = "" if (n == 0 and c.precision == 0) else digits.rjust(c.precision, "0")
        if not digits.startswith("0"):
            digits = "0" + digits
        if "0" in c.flags and "-" not in c.flags and c.precision is None and c.width:
            digits = digits.rjust(c.width, "0")
        return _pad(digits, c)

    return render


def _renderer(c: Conversion) -> Callable[[object], str]:
    if c.conv in FLOAT_CONVERSIONS:

        def render_f(v: object) -> str:
            return _float_text(float(_to_int(v)), c)

        return render_f
    if c.conv == "gr":
        from pytrace.gfpflags import gfp_names

        def render_gr(v: object) -> str:
            return _pad(gfp_names(_to_int(v) & MASK64), c)

        return render_gr
    if c.conv in "diuxXo":
        return _int_renderer(c)
    if c.conv == "s":
        prec = c.precision

        def render_s(v: object) -> str:
            s = _text(v)
            if s.isascii():
                return _pad(s if prec is None else s[:prec], c)
            b = s.encode("utf-8", "replace")  # C's width and precision count bytes
            if prec is not None:
                b = b[:prec]
            fill = " " * max(0, (c.width or 0) - len(b))
            text = b.decode("utf-8", "replace")
            return text + fill if "-" in c.flags else fill + text

        return render_s
    if c.conv == "c":

        def render_c(v: object) -> str:
            b = _to_int(v) & 0xFF
            return _pad(chr(b) if b < 128 else "\ufffd", c)

        return render_c
    if c.conv == "p":

        def render_p(v: object) -> str:
            n = _to_int(v) & MASK64
            return _pad("(nil)" if n == 0 else f"0x{n:x}", c)

        return render_p

    def render_r(v: object) -> str:
        data = v if isinstance(v, bytes) else _text(v).encode()
        return _pad(format_buffer(bytes(data), c.conv), c)

    return render_r


@lru_cache(maxsize=1024)
def compile_format(fmt: str) -> Callable[[Sequence[object]], str]:
    """Precompile `fmt` into a function of the argument values (cached per format)."""
    pieces: list[str | Callable[[object], str]] = [
        t if isinstance(t, str) else _renderer(t) for t in _tokens_cached(fmt)
    ]
    nconv = sum(1 for p in pieces if not isinstance(p, str))
    if nconv == 0:
        text = "".join(p for p in pieces if isinstance(p, str))
        return lambda values: text

    def render(values: Sequence[object]) -> str:
        if len(values) != nconv:
            raise FormatError(
                f"{'not enough' if len(values) < nconv else 'too many'} arguments for "
                f"format string ({len(values)} supplied, {nconv} expected)"
            )
        out: list[str] = []
        it = iter(values)
        for p in pieces:
            out.append(p if isinstance(p, str) else p(next(it)))
        return "".join(out)

    return render


def format_printf(fmt: str, values: Sequence[object]) -> str:
    """Render `fmt` with `values` using C printf semantics on 64-bit integers."""
    return compile_format(fmt)(values)


# ------------------------------------------------------------------ precompiled templates

# How a templated conversion reads its 8-byte argument (struct codes, little-endian:
# h/hh read the low 2/1 bytes, which is C's truncation), or "s" for a string (or an
# integer shown by %s).
# (group, bits the length modifier keeps) -> the struct code reading that many low bytes
_INT_CODES = {("di", 64): "q", ("di", 32): "i", ("di", 16): "h", ("di", 8): "b",
              ("uxXo", 64): "Q", ("uxXo", 32): "I", ("uxXo", 16): "H", ("uxXo", 8): "B"}


@frozen
class PyTemplate:
    """A printf format as one Python %-format that renders byte-identically to
    `format_printf` when each argument is given as `args` says: a struct code
    (q Q i I h H b B: the integer read that way from its 8 bytes) or "s" (a str, or an
    int printed in decimal)."""

    text: str
    args: tuple[str, ...]
    # a %s with a width or precision: C counts bytes, not characters. `text` is then the
    # template's UTF-8 bytes as latin-1 characters (to_bytewise); give its strings the
    # same way and read the rendered text back with from_bytewise.
    bytewise: bool = False


def to_bytewise(s: str) -> str:
    """A text's UTF-8 bytes, one latin-1 character each (so widths count bytes)."""
    return s.encode("utf-8", "replace").decode("latin-1")


def from_bytewise(s: str) -> str:
    """The inverse of to_bytewise (a cut multi-byte character becomes U+FFFD)."""
    return s.encode("latin-1").decode("utf-8", "replace")


def _int_code(c: Conversion) -> str | None:
    group = "di" if c.conv in "di" else "uxXo"
    return _INT_CODES.get((group, _LENGTH_BITS.get(c.length, 64)))


@lru_cache(maxsize=1024)
def python_template(fmt: str) -> PyTemplate | None:
    """`fmt` as a PyTemplate, or None when a conversion needs the general renderer
    (%c %p %r…, an alternate form, precision 0, anything added later)."""
    parts: list[str] = []
    args: list[str] = []
    bytewise = False
    for t in _tokens_cached(fmt):
        if isinstance(t, str):
            parts.append(t.replace("%", "%%"))
        elif t.conv in "diuxXo" and len(t.conv) == 1 and _int_simple(t):
            code = _int_code(t)
            if code is None:
                return None
            parts.append(_int_pyfmt(t))
            args.append(code)
        elif t.conv == "s":
            width = "" if t.width is None else str(t.width)
            prec = "" if t.precision is None else f".{t.precision}"
            parts.append(f"%{'-' if '-' in t.flags else ''}{width}{prec}s")
            args.append("s")
            bytewise |= t.width is not None or t.precision is not None
        else:
            return None
    text = "".join(parts)
    return PyTemplate(to_bytewise(text) if bytewise else text, tuple(args), bytewise)
