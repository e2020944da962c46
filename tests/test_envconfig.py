"""envconfig.read_environment: every BPFTRACE_* variable, checked as bpftrace checks it."""

from __future__ import annotations

import pytest

from pytrace.envconfig import CONFIG_VARS, EnvError, read_environment
from pytrace.options import Options


def test_config_variables_are_read_by_their_upper_case_name() -> None:
    env = read_environment({
        "BPFTRACE_MAX_MAP_KEYS": "8192", "BPFTRACE_STACK_MODE": "perf",
        "BPFTRACE_PRINT_MAPS_ON_EXIT": "0", "BPFTRACE_CPP_DEMANGLE": "false",
        "BPFTRACE_MISSING_PROBES": "warn", "BPFTRACE_STR_TRUNC_TRAILER": "",
        "BPFTRACE_CACHE_USER_SYMBOLS": "PER_PROGRAM", "BPFTRACE_LICENSE": "Dual BSD/GPL",
    })
    assert env.config == {"max_map_keys": 8192, "stack_mode": "perf",
                          "print_maps_on_exit": False, "cpp_demangle": False,
                          "missing_probes": "warn", "str_trunc_trailer": "",
                          "cache_user_symbols": "PER_PROGRAM", "license": "Dual BSD/GPL"}


def test_every_config_variable_of_the_reference_is_known() -> None:
    reference = {"cache_user_symbols", "cpp_demangle", "lazy_symbolication", "license",
                 "log_size", "max_bpf_progs", "max_cat_bytes", "max_map_keys", "max_probes",
                 "max_strlen", "missing_probes", "on_stack_limit", "perf_rb_pages",
                 "show_debug_info", "stack_mode", "str_trunc_trailer", "print_maps_on_exit",
                 "unstable_tseries", "unstable_dw_ustack"}
    assert reference <= set(CONFIG_VARS)


def test_environment_only_settings() -> None:
    env = read_environment({"BPFTRACE_BTF": "/tmp/vmlinux.btf", "BPFTRACE_VMLINUX": "/vmlinux",
                            "BPFTRACE_KERNEL_SOURCE": "/src", "BPFTRACE_KERNEL_BUILD": "/obj",
                            "BPFTRACE_COLOR": "never"})
    assert (env.btf_path, env.vmlinux, env.kernel_source, env.kernel_build, env.color) == (
        "/tmp/vmlinux.btf", "/vmlinux", "/src", "/obj", "never")


def test_legacy_spellings_still_work() -> None:
    env = read_environment({"BPFTRACE_STRLEN": "100", "BPFTRACE_NO_CPP_DEMANGLE": "1",
                            "BPFTRACE_MAP_KEYS_MAX": "10"})
    assert env.config == {"max_strlen": 100, "cpp_demangle": False, "max_map_keys": 10}


@pytest.mark.parametrize(("var", "value", "message"), [
    ("BPFTRACE_MAX_MAP_KEYS", "abc",
     "Env var 'BPFTRACE_MAX_MAP_KEYS' did not contain a valid uint64_t, or was zero-valued."),
    ("BPFTRACE_PERF_RB_PAGES", "-1",
     "Env var 'BPFTRACE_PERF_RB_PAGES' did not contain a valid uint64_t, or was zero-valued."),
    ("BPFTRACE_LAZY_SYMBOLICATION", "yes",
     "Env var 'BPFTRACE_LAZY_SYMBOLICATION' did not contain a valid value (0 or 1)."),
    ("BPFTRACE_STACK_MODE", "bogus",
     "Invalid value for stack_mode: valid values are bpftrace, perf, raw, and build_id."),
    ("BPFTRACE_CACHE_USER_SYMBOLS", "x",
     "Invalid value for cache_user_symbols: valid values are PER_PID, PER_PROGRAM, and NONE."),
])
def test_bad_values(var: str, value: str, message: str) -> None:
    with pytest.raises(EnvError) as info:
        read_environment({var: value})
    assert str(info.value) == message


def test_a_bad_colour_is_a_warning() -> None:
    env = read_environment({"BPFTRACE_COLOR": "pink"})
    assert env.color == "auto"
    assert env.warnings == ["Invalid env value! The valid values of `BPFTRACE_COLOR` are "
                            "[auto|always|never]. The current value is pink!"]


def test_the_environment_wins_over_the_config_block() -> None:
    opts = Options(config={"max_map_keys": 10})
    script = {"max_map_keys": 99, "stack_mode": "raw"}
    assert opts.config_value("max_map_keys", script) == 10
    assert opts.config_value("stack_mode", script) == "raw"
    assert opts.config_value("stack_mode", {"BPFTRACE_STACK_MODE": "perf"}) == "perf"
    assert opts.config_value("log_size", script, 5) == 5
