"""listing.patterns: how a search names probe types and what each kind is matched on."""

from __future__ import annotations

from pytrace.listing.patterns import (
    FULL_SEARCH,
    expand_kinds,
    is_type_pattern,
    matching,
    parse_pattern,
    split_search,
)


def test_a_pattern_without_a_colon_means_any_probe_type() -> None:
    p = parse_pattern("*sleep*")
    assert (p.kind, p.parts, p.suffix) == ("*", ("*sleep*",), "*sleep*")
    assert parse_pattern("") == parse_pattern(FULL_SEARCH)


def test_target_and_function_parts() -> None:
    p = parse_pattern("uprobe:/bin/bash:read*")
    assert (p.target, p.func) == ("/bin/bash", "read*")
    q = parse_pattern("usdt:/x:prov:name")
    assert (q.target, q.func) == ("/x", "prov:name")
    r = parse_pattern("uprobe:malloc")
    assert (r.target, r.func) == ("*", "malloc")


def test_probe_types_expand_like_bpftrace() -> None:
    assert expand_kinds(parse_pattern("t:sched:*"), None) == (["tracepoint"], True)
    assert expand_kinds(parse_pattern("kfunc:x"), None) == (["fentry"], True)
    assert expand_kinds(parse_pattern("nosuch:x"), None) == ([], True)
    kinds, explicit = expand_kinds(parse_pattern("*:*"), None)
    assert not explicit and kinds == ["fentry", "hardware", "iter", "kprobe", "rawtracepoint",
                                      "software", "tracepoint"]
    assert expand_kinds(parse_pattern("*:*"), 1)[0][-2:] == ["uprobe", "usdt"]
    assert expand_kinds(parse_pattern("*:/bin/sh:main"), None)[0][-2:] == ["uprobe", "usdt"]
    assert expand_kinds(parse_pattern("*race*:x"), None)[0] == ["rawtracepoint", "tracepoint"]


def test_searches_split_at_commas() -> None:
    assert split_search("t:a:b,  s:cpu  ") == ["t:a:b", "s:cpu"]
    assert split_search("") == [FULL_SEARCH]


def test_type_patterns() -> None:
    assert is_type_pattern("struct task_struct") and is_type_pattern("enum cpu_usage_stat")
    assert not is_type_pattern("struct") and not is_type_pattern("t:struct x")


def test_matching_spans_colons_and_sorts() -> None:
    assert matching("*:*sleep*", ["b:nanosleep", "a:sys_sleep", "sleep"]) == [
        "a:sys_sleep", "b:nanosleep"]
