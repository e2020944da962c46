"""`-l`/`-lv` of fentry:bpf / fexit:bpf over a fixed set of running programs: one line
per function as KIND:bpf:PROG_ID:NAME, parameters from the program's BTF under -v.
The live kernel's programs: tests/runtime/test_bpfprog_probes.py."""

from __future__ import annotations

import pytest

from pytrace.listing import listing
from pytrace.probes import bpfprog

FUNCS = [bpfprog.BpfFunction(12, 7, "handler", 5, True),
         bpfprog.BpfFunction(12, 7, "handler_for", 6, False),
         bpfprog.BpfFunction(30, 9, "other", 3, True)]


class FakeBtf:
    def param_lines(self, type_id: int) -> list[str]:
        return [f"void * arg{type_id}", "long retval"]


@pytest.fixture(autouse=True)
def _programs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bpfprog, "bpf_functions", lambda: list(FUNCS))
    monkeypatch.setattr("pytrace.listing.bpfprogs.program_btf", lambda btf_id: FakeBtf())


def test_every_function_of_every_program() -> None:
    assert listing("fentry:bpf:*") == ["fentry:bpf:12:handler", "fentry:bpf:12:handler_for",
                                       "fentry:bpf:30:other"]


def test_by_id_name_and_globs() -> None:
    assert listing("fr:bpf:12:*") == ["fexit:bpf:12:handler", "fexit:bpf:12:handler_for"]
    assert listing("fentry:bpf:*_for") == ["fentry:bpf:12:handler_for"]
    assert listing("fentry:bpf:3?:*") == ["fentry:bpf:30:other"]
    assert listing("fentry:bpf:nosuch") == []


def test_verbose_adds_parameters() -> None:
    assert listing("fexit:bpf:30:other", verbose=True) == [
        "fexit:bpf:30:other", "    void * arg3", "    long retval"]
