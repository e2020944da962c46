"""fentry:bpf / fexit:bpf attach points (pytrace.probes.bpfprog) over a fixed set of
running programs: names, ids and globs, the targets' names and attach parameters, and
each error. The live kernel's programs: tests/runtime/test_bpfprog_probes.py."""

from __future__ import annotations

import pytest

from pytrace.probes import bpfprog, registry
from pytrace.probes.base import NoMatchError, ProbeError
from pytrace.resources import ProgType

FUNCS = [bpfprog.BpfFunction(12, 7, "handler", 5, True),
         bpfprog.BpfFunction(12, 7, "handler_for", 6, False),
         bpfprog.BpfFunction(30, 9, "handler", 3, True),
         bpfprog.BpfFunction(301, 11, "other", 2, True)]


@pytest.fixture(autouse=True)
def _programs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bpfprog, "bpf_functions", lambda: list(FUNCS))
    monkeypatch.setattr("pytrace.runtime.bpfprogs.prog_ids", lambda: iter([12, 30, 301, 400]))


def names(raw: str) -> list[str]:
    return [t.name for t in registry.expand(raw)]


def test_a_name_matches_every_program_that_has_it() -> None:
    assert names("fentry:bpf:handler") == ["fentry:bpf:12:handler", "fentry:bpf:30:handler"]
    assert names("kretfunc:bpf:other") == ["fexit:bpf:301:other"]


def test_an_id_narrows_and_globs_work_on_both() -> None:
    assert names("fentry:bpf:12:*") == ["fentry:bpf:12:handler", "fentry:bpf:12:handler_for"]
    assert names("fexit:bpf:30*:*") == ["fexit:bpf:30:handler", "fexit:bpf:301:other"]
    assert names("fentry:bpf:*:*_for") == ["fentry:bpf:12:handler_for"]
    assert names("fentry:bpf:012:handler") == ["fentry:bpf:12:handler"]


def test_target_carries_what_loading_needs() -> None:
    (t,) = registry.expand("fexit:bpf:12:handler_for")
    assert t.kind == "fexit" and t.prog_type == ProgType.TRACING and t.func == "handler_for"
    assert t.attach == {"func": "handler_for", "btf_id": 6, "prog_id": 12, "prog_btf_id": 7}


def test_a_module_called_bpf_is_not_needed_for_two_parts_only() -> None:
    assert bpfprog.is_bpf_variant(["bpf", "x"]) and not bpfprog.is_bpf_variant(["bpf"])
    assert not bpfprog.is_bpf_variant(["vmlinux", "bpf"])


@pytest.mark.parametrize(("raw", "message"), [
    ("fentry:bpf:nosuch", "No running BPF program with BTF has a function named nosuch "
     "(fentry:bpf:nosuch)"),
    ("fentry:bpf:99:handler", "No BPF program with id 99 is loaded (fentry:bpf:99:handler)"),
    ("fentry:bpf:400:handler", "BPF program 400 has no function handler with BTF"),
    ("fentry:bpf:12:other", "BPF program 12 has no function other with BTF"),
    ("fentry:bpf:x1:handler", "invalid BPF program id 'x1' in fentry:bpf:x1:..."),
    ("fentry:bpf:1:a:b", "invalid fentry:bpf attach point"),
    ("fexit:bpf::handler", "invalid BPF program id ''"),
    ("fexit:bpf:12:", "invalid fexit:bpf attach point"),
])
def test_errors(raw: str, message: str) -> None:
    with pytest.raises(ProbeError) as exc:
        registry.expand(raw)
    assert not isinstance(exc.value, NoMatchError)
    assert exc.value.message.startswith(message), exc.value.message


def test_a_wildcard_matching_nothing_is_a_no_match() -> None:
    with pytest.raises(NoMatchError, match=r"No running BPF program with BTF matches "
                                           r"fentry:bpf:5\*:handler"):
        registry.expand("fentry:bpf:5*:handler")
