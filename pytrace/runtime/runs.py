"""Runs of printf records decoded and rendered without per-field Python work.

A run is many consecutive ring-buffer records of one EventSpec (ringbuf.Run). When the
printf format has a Python %-template (printf_format.python_template) and every
argument is an 8-byte integer or a string, one `struct.Struct` covering a block of
whole records (header, event id, fields, padding, repeated) decodes the block into one
flat tuple, and the template repeated once per record renders it with one `%`: both
loops run in C, with no Python object per record. Strings are cut at their NUL and
decoded with C-level maps; a string that fills max_strlen gets the truncation trailer
as decode.py gives it. The text is byte-identical to the general path
(dispatch.Dispatcher.handle with printf_format.format_printf); anything else (other
types, conversions without a template) returns None from `compile_run_printf`, and the
record takes the general path.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from operator import itemgetter, methodcaller

from pytrace.printf_format import from_bytewise, python_template
from pytrace.resources import EventKind, EventSpec
from pytrace.runtime.decode import StrFormat
from pytrace.types import EnumT, IntT, PtrT, StrT, Type

__all__ = ["RunPrintf", "compile_run_printf", "record_stride"]

BLOCK = 2048  # records per struct unpack / template render
Block = tuple[int, tuple[object, ...]]  # (records, their arguments flat)

_split = methodcaller("split", b"\0", 1)
_first = itemgetter(0)
_decode = methodcaller("decode", "utf-8", "replace")
_latin1 = methodcaller("decode", "latin-1")
_utf8 = methodcaller("encode", "utf-8", "replace")
_SIZES = {"q": 8, "Q": 8, "i": 4, "I": 4, "h": 2, "H": 2, "b": 1, "B": 1}


def record_stride(length: int) -> int:
    """Bytes a record of `length` data bytes takes in the ring (8-byte header, 8-aligned)."""
    return (length + 15) & ~7


def cstrings(col: Iterable[bytes], strings: StrFormat | None = None,
             bytewise: bool = False) -> list[str]:
    """Fixed-size string buffers as their text: cut at the first NUL, UTF-8 with
    replacement (bytewise: then one latin-1 character per byte of that text, see
    PyTemplate), in C-level maps; with `strings`, one whose bytes and NUL fill max_strlen gets the trailer (what
    decode.py does for one)."""
    chunks = list(map(_first, map(_split, col)))
    texts = list(map(_decode, chunks))
    if strings is not None:
        full = strings.max_strlen - 1
        for i in [i for i, c in enumerate(chunks) if len(c) == full]:
            texts[i] += strings.trailer
    if bytewise and not "".join(texts).isascii():  # UTF-8 bytes, as C counts them
        return list(map(_latin1, map(_utf8, texts)))
    return texts


class RunPrintf:
    """The decoder and renderer of one printf EventSpec's runs.

    A run is decoded in blocks of a power of two records (at most BLOCK), each by one
    struct unpacking a whole block into one flat tuple of the arguments; `text` renders
    a block with the template repeated once per record, in one `%`."""

    def __init__(self, record: str, stride: int, template: str, nargs: int,
                 str_cols: tuple[int, ...], strings: StrFormat | None = None,
                 bytewise: bool = False) -> None:
        self.record = record  # struct codes of one record (no byte-order prefix)
        self.stride = stride
        self.template = template
        self.nargs = nargs
        self.str_cols = str_cols
        self.strings = strings  # set when a string column can fill max_strlen
        self.bytewise = bytewise  # the template counts bytes (PyTemplate.bytewise)
        self._blocks: dict[int, tuple[struct.Struct, str]] = {}

    def _block(self, k: int) -> tuple[struct.Struct, str]:
        got = self._blocks.get(k)
        if got is None:
            got = self._blocks[k] = (struct.Struct("<" + self.record * k), self.template * k)
        return got

    def decode(self, view: memoryview, start: int, count: int) -> list[Block]:
        """Decode `count` records whose first one's header is at `start` of `view`; the
        values are copied out (the ring space may be released afterwards)."""
        out: list[Block] = []
        nargs, str_cols, strings = self.nargs, self.str_cols, self.strings
        while count:
            k = BLOCK if count >= BLOCK else 1 << (count.bit_length() - 1)
            values: tuple[object, ...] = self._block(k)[0].unpack_from(view, start)
            if str_cols:
                fixed = list(values)
                for j in str_cols:
                    fixed[j::nargs] = cstrings(fixed[j::nargs], strings,  # type: ignore[arg-type]
                                               self.bytewise)
                values = tuple(fixed)
            out.append((k, values))
            start += k * self.stride
            count -= k
        return out

    def text(self, blocks: list[Block]) -> str:
        """The printf text of every record, joined."""
        block = self._block
        text = "".join([block(k)[1] % values for k, values in blocks])
        return from_bytewise(text) if self.bytewise and not text.isascii() else text

    def texts(self, blocks: list[Block]) -> list[str]:
        """Each record's printf text."""
        render, n, out = self.template.__mod__, self.nargs, []
        for k, values in blocks:
            if n == 0:
                out += [render(())] * k
            else:
                out += map(render, zip(*[iter(values)] * n, strict=True))
        if self.bytewise and not "".join(out).isascii():
            return list(map(from_bytewise, out))
        return out


def _arg_code(t: Type, code: str) -> str | None:
    """The struct code that reads an argument of type `t` for a template code, or None
    when the general path must decode it (bool, probe names, Pointer/enum via %s…)."""
    if code == "s":
        if isinstance(t, StrT):
            return f"{t.length}s"
        if type(t) is IntT and t.size == 8:
            return "q" if t.signed else "Q"
        return None
    if type(t) in (IntT, EnumT, PtrT) and t.size == 8:
        return code  # the integer read as the conversion reads it (C's reinterpretation)
    return None


def compile_run_printf(ev: EventSpec, strings: StrFormat | None = None) -> RunPrintf | None:
    """A RunPrintf for a printf EventSpec, or None when its records need the general path;
    `strings`: how strings print (max_strlen and its trailer), as for decode_value."""
    if ev.kind != EventKind.PRINTF:
        return None
    tmpl = python_template(ev.fmt)
    if tmpl is None or len(tmpl.args) != len(ev.args):
        return None
    parts = ["16x"]  # the ring's 8-byte header, the u64 event id
    pos = 16
    str_cols: list[int] = []
    trailer = False
    for i, (f, code) in enumerate(zip(ev.args, tmpl.args, strict=True)):
        sc = _arg_code(f.type, code)
        at = f.offset + 8
        if sc is None or at < pos:
            return None
        if at > pos:
            parts.append(f"{at - pos}x")
        parts.append(sc)
        if sc.endswith("s"):
            str_cols.append(i)
            trailer |= strings is not None and int(sc[:-1]) >= strings.max_strlen - 1
        pos = at + (int(sc[:-1]) if sc.endswith("s") else _SIZES[sc])
    stride = record_stride(ev.size)
    if pos > stride:
        return None
    if stride > pos:
        parts.append(f"{stride - pos}x")
    return RunPrintf("".join(parts), stride, tmpl.text, len(tmpl.args), tuple(str_cols),
                     strings if trailer else None, tmpl.bytewise)
