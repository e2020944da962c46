"""printf in iter probes: bpf_seq_printf into the iterator's seq_file.

An iterator's output is what it writes to its seq_file (read through the iterator fd,
or by reading a pinned iterator later, when pytrace is gone), so printf there cannot be
a ring-buffer record rendered in userspace: the kernel renders it. The format is
rewritten for the kernel's printf (every pytrace integer is 64-bit: `%d` becomes
`%lld`; `%p` prints `0x%llx`, as userspace printf does; `h`/`hh` truncate in BPF) and
kept in .rodata (the helper wants a constant string); the arguments go in a u64 array,
strings as pointers to their buffers. What the kernel cannot print (precision, `%o`,
buffers, more than 12 arguments, non-printable characters) is a located error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from pytrace import nodes
from pytrace.codegen.base import I8, I64, P8, c64
from pytrace.codegen.errors import CodegenError
from pytrace.printf_format import Conversion, FormatError, parse_format
from pytrace.types import StrT

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

SEQ_PRINTF = 126  # bpf_seq_printf(seq, fmt, fmt_size, data, data_len)
MAX_ARGS = 12  # the kernel's MAX_BPRINTF_VARARGS
KERNEL_FLAGS = set("-+ 0")


def _literal(text: str) -> str:
    """Literal format text for the kernel: a `%` not doubled is doubled."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("%%", i):
            out.append("%%")
            i += 2
        elif text[i] == "%":
            out.append("%%")
            i += 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _spec(c: Conversion) -> str:
    """One conversion in the kernel's spelling (64-bit arguments)."""
    if c.precision is not None or c.conv in ("o", "r", "rx", "rh") or \
            set(c.flags) - KERNEL_FLAGS:
        raise FormatError(f"printf in iter probes cannot print '{_text(c)}': the kernel's "
                          "seq printf has no precision, %o, '#' or buffer conversions")
    width = f"{c.flags}{c.width or ''}"
    if c.conv == "p":
        return "0x%llx"
    if c.conv in ("s", "c"):
        return f"%{width}{c.conv}"
    return f"%{width}ll{c.conv}"


def _text(c: Conversion) -> str:
    return f"%{c.flags}{c.width or ''}{'' if c.precision is None else '.' + str(c.precision)}" \
           f"{c.length}{c.conv}"


def kernel_format(fmt: str) -> tuple[str, list[Conversion]]:
    """The format for bpf_seq_printf and its conversions; FormatError if unprintable."""
    convs = parse_format(fmt)
    if len(convs) > MAX_ARGS:
        raise FormatError(f"printf in iter probes takes at most {MAX_ARGS} arguments")
    out, pos = [], 0
    for c in convs:
        out.append(_literal(fmt[pos:c.start]))
        out.append(_spec(c))
        pos = c.end
    out.append(_literal(fmt[pos:]))
    text = "".join(out)
    bad = [ch for ch in text if not (ch.isascii() and (ch.isprintable() or ch.isspace()))]
    if bad:
        raise FormatError(f"printf in iter probes cannot print the character {bad[0]!r}")
    return text, convs


def _format_global(p: ProgEmitter, text: str) -> ir.Value:
    data = bytearray(text.encode() + b"\0")
    module = p.gen.module
    gv = ir.GlobalVariable(module, ir.ArrayType(I8, len(data)),
                           module.get_unique_name("seq_fmt"))
    gv.initializer = ir.Constant(ir.ArrayType(I8, len(data)), data)
    gv.global_constant = True
    gv.linkage = "internal"
    gv.section = ".rodata"
    return p.b.bitcast(gv, P8)


def _arg_value(p: ProgEmitter, arg: nodes.Expr, c: Conversion) -> ir.Value:
    t = p.type_of(arg)
    if c.conv == "s":
        if not isinstance(t, StrT):
            raise CodegenError("printf in iter probes prints %s of strings only", arg)
        return p.b.ptrtoint(p.materialize(p.expr(arg)), I64)
    value = p.as_i64(p.expr(arg))
    if c.length in ("h", "hh"):
        bits = 16 if c.length == "h" else 8
        narrow = p.b.trunc(value, ir.IntType(bits))
        signed = c.conv in ("d", "i")
        value = p.b.sext(narrow, I64) if signed else p.b.zext(narrow, I64)
    return value


def seq(p: ProgEmitter) -> ir.Value:
    """ctx->meta->seq, read directly (the helper wants the kernel's own pointer)."""
    meta = p.load64(p.ctx, 0)
    return p.b.load(p.b.inttoptr(meta, ir.PointerType(I64)), align=8)


def emit_seq_printf(p: ProgEmitter, call: nodes.Call) -> None:
    try:
        text, convs = kernel_format(p.format_of(call))
    except FormatError as exc:
        raise CodegenError(str(exc), call) from None
    args = call.args[1:]
    data = p.alloca_buf(8 * max(1, len(convs)))
    for i, (arg, c) in enumerate(zip(args, convs, strict=False)):
        p.store64(_arg_value(p, arg, c), data, 8 * i)
    fmt = _format_global(p, text)
    p.helper(SEQ_PRINTF, I64, [seq(p), fmt, c64(len(text) + 1), data, c64(8 * len(convs))])
