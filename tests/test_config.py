"""pytrace.config: the one table of config variables, its environment and config block
front ends, and the precedence environment > config block > default."""

from __future__ import annotations

import pytest

from pytrace import config
from pytrace.config import CONFIG_VARS, ConfigValueError, EnvError, read_environment


def test_every_config_variable_of_the_reference_is_known() -> None:
    reference = {"cache_user_symbols", "cpp_demangle", "lazy_symbolication", "license",
                 "log_size", "max_bpf_progs", "max_cat_bytes", "max_map_keys", "max_probes",
                 "max_strlen", "missing_probes", "on_stack_limit", "perf_rb_pages",
                 "show_debug_info", "stack_mode", "str_trunc_trailer", "print_maps_on_exit",
                 "unstable_tseries", "unstable_dw_ustack"}
    assert reference <= set(CONFIG_VARS)


def test_every_variable_is_an_options_field_with_the_same_default() -> None:
    from pytrace.options import Options

    opts = Options()
    for name, var in CONFIG_VARS.items():
        assert hasattr(opts, name), name
        if var.default is not None:
            assert getattr(opts, name) == var.default, name


@pytest.mark.parametrize(("written", "name"), [
    ("stack_mode", "stack_mode"), ("STACK_MODE", "stack_mode"),
    ("BPFTRACE_STACK_MODE", "stack_mode"), ("Stack_Mode", None), ("nope", None),
])
def test_block_names_in_every_spelling(written: str, name: str | None) -> None:
    assert config.canonical_name(written) == name


def test_environment_values() -> None:
    env = read_environment({"BPFTRACE_MAX_MAP_KEYS": "8192", "BPFTRACE_STACK_MODE": "perf",
                            "BPFTRACE_PRINT_MAPS_ON_EXIT": "0", "BPFTRACE_LICENSE": "GPL v2",
                            "BPFTRACE_STR_TRUNC_TRAILER": "", "BPFTRACE_STRLEN": "40",
                            "BPFTRACE_NO_CPP_DEMANGLE": "1", "BPFTRACE_BTF": "/x.btf"})
    assert env.config == {"max_map_keys": 8192, "stack_mode": "perf", "license": "GPL v2",
                          "print_maps_on_exit": False, "str_trunc_trailer": "",
                          "max_strlen": 40, "cpp_demangle": False}
    assert env.btf_path == "/x.btf"


@pytest.mark.parametrize(("var", "value", "message"), [
    ("BPFTRACE_MAX_MAP_KEYS", "abc",
     "Env var 'BPFTRACE_MAX_MAP_KEYS' did not contain a valid uint64_t, or was zero-valued."),
    ("BPFTRACE_LAZY_SYMBOLICATION", "yes",
     "Env var 'BPFTRACE_LAZY_SYMBOLICATION' did not contain a valid value (0 or 1)."),
    ("BPFTRACE_MISSING_PROBES", "maybe",
     "Invalid value for missing_probes: valid values are error, warn, and ignore."),
])
def test_bad_environment_values(var: str, value: str, message: str) -> None:
    with pytest.raises(EnvError) as info:
        read_environment({var: value})
    assert str(info.value) == message


@pytest.mark.parametrize(("name", "value", "is_name", "want"), [
    ("max_map_keys", 10, False, 10),
    ("print_maps_on_exit", 0, False, False),
    ("print_maps_on_exit", "true", True, True),
    ("missing_probes", "warn", False, "warn"),  # a string literal
    ("missing_probes", "ignore", True, "ignore"),  # a bare name
    ("cache_user_symbols", "per_program", True, "PER_PROGRAM"),
    ("str_trunc_trailer", "...", False, "..."),
])
def test_block_values(name: str, value: int | str, is_name: bool, want: object) -> None:
    assert config.block_value(CONFIG_VARS[name], value, is_name) == want


@pytest.mark.parametrize(("name", "value", "is_name"), [
    ("max_map_keys", "many", True), ("stack_mode", "fancy", True),
    ("license", "MIT", False), ("str_trunc_trailer", "dots", True),
    ("lazy_symbolication", 7, False),
])
def test_bad_block_values(name: str, value: int | str, is_name: bool) -> None:
    with pytest.raises(ConfigValueError):
        config.block_value(CONFIG_VARS[name], value, is_name)


def test_environment_wins_over_the_block_which_wins_over_the_default() -> None:
    values = config.resolve({"max_map_keys": 5, "stack_mode": "raw"}, {"max_map_keys": 7})
    assert values["max_map_keys"] == 7 and values["stack_mode"] == "raw"
    assert values["log_size"] == 1000000 and "cache_user_symbols" not in values
