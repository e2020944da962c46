"""printf formats rewritten for the kernel's seq printf (iter probes)."""

from __future__ import annotations

import pytest

from pytrace.codegen.seqprintf import kernel_format
from pytrace.printf_format import FormatError


@pytest.mark.parametrize(("fmt", "kernel"), [
    ("%d %i %u %x %X\n", "%lld %lli %llu %llx %llX\n"),
    ("%5d|%-5u|%05x", "%5lld|%-5llu|%05llx"),
    ("%ld %llu %hd %hhx", "%lld %llu %lld %llx"),  # every argument is 64-bit
    ("%s %8s %-3s %c", "%s %8s %-3s %c"),
    ("%p", "0x%llx"),
    ("100%% done\t5%\n", "100%% done\t5%%\n"),
])
def test_rewrites(fmt: str, kernel: str) -> None:
    assert kernel_format(fmt)[0] == kernel


@pytest.mark.parametrize(("fmt", "why"), [
    ("%.3d", "no precision"), ("%o", "no precision"), ("%#x", "no precision"),
    ("%r", "no precision"), ("\x1b[1m%d", "character"), ("é", "character"),
    ("%d" * 13, "at most 12"),
])
def test_refusals(fmt: str, why: str) -> None:
    with pytest.raises(FormatError, match=why):
        kernel_format(fmt)
