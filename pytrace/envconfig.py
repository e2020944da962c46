"""The `BPFTRACE_*` environment, read and checked the way bpftrace reads it.

Config variables (`max_map_keys`, `stack_mode`, ...) may be set as `BPFTRACE_<NAME>`;
a value set in the environment wins over the script's `config = { ... }` block. A few
settings exist only as environment variables (BTF file, kernel headers, vmlinux,
colour). `read_environment` returns them as data; a bad value raises EnvError with
bpftrace's message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

PREFIX = "BPFTRACE_"


class EnvError(Exception):
    """A `BPFTRACE_*` variable with a value bpftrace would refuse (one message line)."""


def _uint(var: str, text: str) -> int:
    m = re.match(r"\s*\+?(\d+)", text)  # what `istream >> uint64_t` accepts
    if m is None or int(m.group(1)) >= 1 << 64:
        raise EnvError(f"Env var '{var}' did not contain a valid uint64_t, or was zero-valued.")
    return int(m.group(1))


def _bool(var: str, text: str) -> bool:
    if text in ("1", "true"):
        return True
    if text in ("0", "false"):
        return False
    raise EnvError(f"Env var '{var}' did not contain a valid value (0 or 1).")


def _choice(name: str, choices: tuple[str, ...]) -> object:
    def parse(var: str, text: str) -> str:
        if text not in choices:
            listed = ", ".join(choices[:-1]) + f", and {choices[-1]}"
            raise EnvError(f"Invalid value for {name}: valid values are {listed}.")
        return text
    return parse


def _cache_user_symbols(var: str, text: str) -> str:
    legacy = {"1": "PER_PID", "0": "NONE"}
    value = legacy.get(text, text)
    if value not in ("PER_PID", "PER_PROGRAM", "NONE"):
        raise EnvError("Invalid value for cache_user_symbols: valid values are PER_PID, "
                       "PER_PROGRAM, and NONE.")
    return value


def _text(var: str, text: str) -> str:
    return text


LICENSES = ("GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL",
            "Dual MPL/GPL")
FEATURE_MODES = ("error", "warn", "enable")

# config variable -> (parser, default); the defaults are the reference's.
CONFIG_VARS: dict[str, tuple[object, object]] = {
    "cache_user_symbols": (_cache_user_symbols, "PER_PID"),
    "cpp_demangle": (_bool, True),
    "lazy_symbolication": (_bool, False),
    "license": (_choice("license", LICENSES), "GPL"),
    "log_size": (_uint, 1000000),
    "max_bpf_progs": (_uint, 1024),
    "max_cat_bytes": (_uint, 10240),
    "max_map_keys": (_uint, 4096),
    "max_probes": (_uint, 1024),
    "max_strlen": (_uint, 1024),
    "missing_probes": (_choice("missing_probes", ("error", "warn", "ignore")), "error"),
    "on_stack_limit": (_uint, 32),
    "perf_rb_pages": (_uint, 64),
    "print_maps_on_exit": (_bool, True),
    "show_debug_info": (_bool, False),
    "stack_mode": (_choice("stack_mode", ("bpftrace", "perf", "raw", "build_id")), "bpftrace"),
    "str_trunc_trailer": (_text, ".."),
    "unstable_tseries": (_choice("unstable_tseries", FEATURE_MODES), "warn"),
    "unstable_dw_ustack": (_choice("unstable_dw_ustack", FEATURE_MODES), "warn"),
}

# Spellings of bpftrace 0.17 and earlier: old name -> (config variable, inverted bool).
LEGACY_VARS = {
    "BPFTRACE_STRLEN": ("max_strlen", False),
    "BPFTRACE_MAP_KEYS_MAX": ("max_map_keys", False),
    "BPFTRACE_CAT_BYTES_MAX": ("max_cat_bytes", False),
    "BPFTRACE_NO_CPP_DEMANGLE": ("cpp_demangle", True),
}

ENV_ONLY = ("BPFTRACE_BTF", "BPFTRACE_KERNEL_SOURCE", "BPFTRACE_KERNEL_BUILD",
            "BPFTRACE_VMLINUX", "BPFTRACE_COLOR")
COLORS = ("auto", "always", "never")


@dataclass(slots=True)
class Environment:
    """What the environment sets: config variables, env-only paths and the colour mode."""

    config: dict[str, int | str | bool] = field(default_factory=dict)
    btf_path: str | None = None
    kernel_source: str | None = None
    kernel_build: str | None = None
    vmlinux: str | None = None
    color: str = "auto"
    warnings: list[str] = field(default_factory=list)


def _parse(name: str, var: str, text: str) -> int | str | bool:
    parser = CONFIG_VARS[name][0]
    return parser(var, text)  # type: ignore[operator,no-any-return]


def _read_config(env: Mapping[str, str], out: Environment) -> None:
    for old, (name, inverted) in LEGACY_VARS.items():
        if old in env:
            value = _parse(name, old, env[old])
            out.config[name] = (not value) if inverted else value
    for name in CONFIG_VARS:
        var = PREFIX + name.upper()
        if var in env:
            out.config[name] = _parse(name, var, env[var])


def _read_color(env: Mapping[str, str], out: Environment) -> None:
    mode = env.get("BPFTRACE_COLOR")
    if mode is None:
        return
    if mode in COLORS:
        out.color = mode
        return
    out.warnings.append("Invalid env value! The valid values of `BPFTRACE_COLOR` are "
                        f"[auto|always|never]. The current value is {mode}!")


def read_environment(env: Mapping[str, str] | None = None) -> Environment:
    """Every `BPFTRACE_*` setting in `env` (default: os.environ); EnvError on a bad one."""
    env = os.environ if env is None else env
    out = Environment()
    _read_config(env, out)
    _read_color(env, out)
    out.btf_path = env.get("BPFTRACE_BTF") or None
    out.kernel_source = env.get("BPFTRACE_KERNEL_SOURCE") or None
    out.kernel_build = env.get("BPFTRACE_KERNEL_BUILD") or None
    out.vmlinux = env.get("BPFTRACE_VMLINUX") or None
    return out


def config_default(name: str) -> object:
    """The reference's default for a config variable."""
    return CONFIG_VARS[name][1]
