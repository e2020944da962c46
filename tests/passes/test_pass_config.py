"""The config pass: config block values checked (located errors) and resolved with the
environment's into the Options fields."""

from __future__ import annotations


def test_block_sets_options_fields(checked) -> None:
    cp = checked("config = { max_map_keys = 2; stack_mode = perf; BPFTRACE_LOG_SIZE = 99;\n"
                 'STR_TRUNC_TRAILER = "~"; print_maps_on_exit = false }\nbegin { }')
    o = cp.options
    assert (o.max_map_keys, o.stack_mode, o.log_size, o.str_trunc_trailer,
            o.print_maps_on_exit) == (2, "perf", 99, "~", False)
    assert cp.config["max_map_keys"] == 2 and cp.config["license"] == "GPL"


def test_environment_wins(checked) -> None:
    cp = checked("config = { max_map_keys = 2; missing_probes = warn }\nbegin { }",
                 config={"max_map_keys": 50})
    assert cp.options.max_map_keys == 50 and cp.options.missing_probes == "warn"
    assert cp.config_set == {"max_map_keys", "missing_probes"}


def test_unknown_variable_is_located(errors) -> None:
    assert errors("config = {\n  max_map_keys = 2;\n  colour = 1\n}\nbegin { }") == [
        ("Unrecognized config variable: colour", (3, 3, 9))]


def test_bad_value_is_located(errors) -> None:
    assert errors("config = { stack_mode = fancy }\nbegin { }") == [
        ("Invalid value for stack_mode: valid values are bpftrace, perf, raw, and build_id.",
         (1, 25, 30))]


def test_symbol_cache_default_follows_the_child(checked) -> None:
    assert checked("begin { }", has_child=True).options.cache_user_symbols == "PER_PROGRAM"


def test_stack_mode_is_the_default_of_kstack_and_ustack(checked) -> None:
    from pytrace.types import StackT

    cp = checked("config = { stack_mode = perf }\nprofile:hz:99 { @[kstack, ustack(raw)] = "
                 "count(); }")
    modes = sorted(t.mode for t in cp.types.values() if isinstance(t, StackT))
    assert modes[0] == "perf" and modes[-1] == "raw"
