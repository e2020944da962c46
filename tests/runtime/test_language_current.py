"""The current language against the kernel: macros, declarations and scoping, block
expressions, the newer statements, durations, several begin/end blocks, named probes,
map declarations (LRU eviction, sizes, full-map warnings) and config variables."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import begin, run, run_with

TAIL = "\n\n"

MACROS = """\
macro one() { 1 }
macro add_one(x) { x + 1 }
macro add_one_to_each($a, @b) { $a += 1; @b += 1; }
macro side_effects(x) { x; x; x; }
macro add_two(x) { add_one(x) + 1 }
macro sq(x) { let $t = x; $t * $t }
begin {
  print(one());
  print(one);
  $a = 10;
  print(add_one($a));
  print(add_one(1 + 1));
  @b = 5;
  add_one_to_each($a, @b);
  print($a + @b);
  side_effects({ printf("hi") });
  printf("\\n");
  print(add_two(1));
  $t = 3;
  print(sq($t + 1) + $t);
  clear(@b);
  exit();
}
"""


def test_macros_of_the_reference() -> None:
    r = run(MACROS)
    assert r.code == 0, r.err
    assert r.out == "1\n1\n11\n3\n17\nhihihi\n3\n19\n" + TAIL


def test_block_expressions_discard_and_if_without_parentheses() -> None:
    out = begin('$a = { let $b = 6; $b * 7 }; _ = $a; if $a == 42 { print("yes") } '
                'else { print("no") } printf("%d\\n", { $c = 2; $c + 1 } * 2)')
    assert out == "yes\n6\n" + TAIL


def test_discarded_value_warns() -> None:
    r = run("begin { @m[1] = 1; has_key(@m, 1); _ = has_key(@m, 2); { 1 } exit(); }")
    assert r.code == 0 and r.err.count("Return value discarded.") == 2, r.err


def test_typed_and_untyped_declarations() -> None:
    out = begin('let $u: uint8 = 250; $u += 10; let $s: int8 = 127; $s++; '
                'let $x; if (1) { $x = "hello"; } let $z; '
                'printf("%d %d %s %d\\n", $u, $s, $x, $z)')
    assert out == "4 -128 hello 0\n" + TAIL


def test_literal_out_of_range_for_a_declared_type() -> None:
    with pytest.raises(Exception) as info:
        run("begin { let $a: uint16 = -1; }")
    assert "the integer literal -1 does not fit in 'uint16'" in str(info.value)


def test_block_scoped_variables() -> None:
    out = begin('if (1) { $x = 1; printf("%d ", $x); } if (1) { $x = "s"; printf("%s ", $x); } '
                'for ($i : 0..3) { $sq = $i * $i; printf("%d ", $sq); } printf("\\n")')
    assert out == "1 s 0 1 4 \n" + TAIL


def test_for_range_bounds_are_evaluated_once_and_return_leaves_the_probe() -> None:
    out = begin('$a = 5; for ($i : 1..$a) { $a--; printf("%d", $i); if ($i == 3) { break; } } '
                'printf("\\n"); return; printf("never\\n")')
    assert out == "123\n" + TAIL  # return left the probe: "never" is not printed


def test_durations() -> None:
    assert begin('printf("%ld %ld %ld %ld\\n", 100ns, 10us, 5ms, 1m)') == \
        "100 10000 5000000 60000000000\n" + TAIL


def test_several_begin_and_end_blocks_run_in_order_and_named_probes() -> None:
    r = run('first=begin { printf("b1\\n"); } begin { printf("b2\\n"); } '
            'end { printf("e1\\n"); } last=end { printf("e2\\n"); } begin { exit(); }')
    assert r.code == 0 and r.out == "b1\nb2\ne1\ne2\n" + TAIL


def test_lru_map_evicts_and_hash_map_warns_when_full() -> None:
    r = run("let @l = lruhash(8); let @h = hash(8); "
            "begin { for ($i : 0..100) { @l[$i] = $i; @h[$i] = $i; } "
            'printf("%d %d\\n", len(@l) <= 8, len(@h)); exit(); }')
    assert r.code == 0
    first = r.out.splitlines()[0]
    assert first == "1 8"
    lru_keys = [int(line.split("[")[1].split("]")[0]) for line in r.out.splitlines()
                if line.startswith("@l[")]
    assert 0 < len(lru_keys) <= 8 and 99 in lru_keys  # the newest key survives eviction
    assert r.err.count("WARNING: Map @h is full (8 keys)") == 1
    assert "@l is full" not in r.err


def test_percpu_declarations_hold_aggregations() -> None:
    r = run("let @c = percpuhash(4); let @a = percpuarray(3); let @p = percpulruhash(4); "
            "begin { for ($i : 0..6) { @c[$i % 2] = count(); @a[$i % 3] = sum($i); "
            "@p[1] = max($i); } exit(); }")
    assert r.code == 0, r.err
    assert r.out == TAIL + "@a[0]: 3\n@a[1]: 5\n@a[2]: 7\n@c[0]: 3\n@c[1]: 3\n@p[1]: 5\n"


def test_max_map_keys_sizes_undeclared_maps() -> None:
    r = run("config = { max_map_keys = 3 } begin { for ($i : 0..5) { @m[$i] = 1; } exit(); }")
    assert r.code == 0 and r.out.count("@m[") == 3
    assert "Map @m is full (3 keys)" in r.err


def test_print_maps_on_exit_false() -> None:
    r = run("config = { print_maps_on_exit = false } begin { @a = 1; @b[1] = 1; exit(); }")
    assert r.code == 0 and r.out == TAIL


def test_missing_probes_policies() -> None:
    probe = "tracepoint:pytrace_none:nothing_here"
    for policy, warned in (("warn", True), ("ignore", False)):
        r = run(f'config = {{ missing_probes = "{policy}" }} {probe} {{ @x = 1; }} '
                'begin { printf("ran\\n"); exit(); }')
        assert r.code == 0 and r.out.startswith("ran\n"), r.err
        assert ("pytrace_none" in r.err) == warned
    with pytest.raises(Exception) as info:
        run(f"{probe} {{ }} begin {{ exit(); }}")
    assert "pytrace_none" in str(info.value)


def test_license_and_log_size_and_perf_rb_pages() -> None:
    r = run('config = { license = "Dual BSD/GPL"; log_size = 4096; perf_rb_pages = 3 } '
            'begin { printf("%s\\n", comm); exit(); }')
    assert r.code == 0 and r.out.startswith("python"), r.err


def test_imports_merge_probes_macros_and_declarations(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    (tmp_path / "lib.bt").write_text('macro twice(x) { x * 2 }\nlet @seen = lruhash(4);\n'
                                     'begin { printf("lib "); }\n')
    main = tmp_path / "main.bt"
    main.write_text('import "lib.bt";\nbegin { @seen[1] = twice(21); printf("main\\n"); '
                    "exit(); }\n")
    from harness import run_file

    r = run_file(str(main))
    assert r.code == 0, r.err
    assert r.out == "lib main\n" + TAIL + "@seen[1]: 42\n"


def test_config_variables_from_the_environment_win(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import run_with

    r = run_with("config = { max_map_keys = 2 } begin { for ($i : 0..5) { @m[$i] = 1; } "
                 "exit(); }", config={"max_map_keys": 4})
    assert r.out.count("@m[") == 4


def test_missing_probes_at_attach_time_are_skipped_when_tolerated() -> None:
    # no such kernel function: the attach fails (or, on this kernel, kprobes do not exist
    # at all); with warn the rest runs, with the default the program is refused
    prog = ("kprobe:pytrace_no_such_function { @k = count(); } "
            'begin { printf("ran\\n"); exit(); }')
    r = run_with('config = { missing_probes = "warn" } ' + prog)
    assert r.code == 0 and r.out.startswith("ran\n")
    assert "(skipped: missing_probes = warn)" in r.err
    quiet = run_with("config = { missing_probes = ignore } " + prog)
    assert quiet.code == 0 and quiet.err == ""
    from pytrace.runtime.errors import RuntimeFailure

    with pytest.raises(RuntimeFailure):
        run(prog)


def test_map_assigned_only_from_its_own_reads_counts_up() -> None:
    # `$d = @m[k]; @m[k] = $d + 1` (a depth counter): the map holds int64, reads start at 0
    out = begin('$i = 0; while ($i < 3) { $d = @depth[7]; if ($d < 8) { @depth[7] = $d + 1; }'
                ' $i++; } printf("%d\\n", @depth[7])')
    assert out.splitlines()[0] == "3"


def test_trailing_comma_in_attach_list_runs() -> None:
    r = run('BEGIN, { printf("one\\n"); exit(); }')
    assert r.code == 0 and r.out.startswith("one\n"), r.err


def test_positional_parameter_in_an_attach_point_runs() -> None:
    r = run('interval:ms:$1 { printf("tick %s\\n", probe); exit(); }', params=["20"])
    assert r.code == 0 and r.out.startswith("tick interval:ms:20\n"), (r.out, r.err)


def test_comment_after_a_predicate_runs() -> None:
    r = run('interval:ms:10 / 1 == 1 /  // always\n{ printf("yes\\n"); exit(); }')
    assert r.code == 0 and r.out.startswith("yes\n"), r.err
