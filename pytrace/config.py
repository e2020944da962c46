"""Config variables: one table, read from a script's `config = { ... }` block and from
the `BPFTRACE_*` environment, resolved into Options fields.

Every config variable of the reference that applies on Linux is a `ConfigVar` here: its
name (the Options field it sets), how a value is checked and its default. The two front
ends share the table: `read_environment` parses environment text (bpftrace's messages
for bad values, raised as EnvError), `block_value` checks a config block's value node
(a located error). `resolve` applies the precedence the reference gives: the
environment wins over the config block, which wins over the default.

A config block may spell a name as `stack_mode`, `STACK_MODE` or `BPFTRACE_STACK_MODE`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from pytrace.frozen import frozen

PREFIX = "BPFTRACE_"
Value = int | str | bool

LICENSES = ("GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL",
            "Dual MPL/GPL")
FEATURE_MODES = ("error", "warn", "enable")
MISSING_PROBES = ("error", "warn", "ignore")
STACK_MODES = ("bpftrace", "perf", "raw", "build_id")
USER_SYMBOL_CACHES = ("PER_PID", "PER_PROGRAM", "NONE")


class EnvError(Exception):
    """A `BPFTRACE_*` variable with a value bpftrace would refuse (one message line)."""


class ConfigValueError(Exception):
    """A config block value that does not fit its variable (the message is the error)."""


@frozen
class ConfigVar:
    """One config variable.

    kind: 'uint' (a non-negative integer), 'bool', 'choice' (one of `choices`), 'text'.
    default: the reference's default (None: computed where it is used).
    """

    name: str
    kind: str
    default: Value | None
    choices: tuple[str, ...] = ()


CONFIG_VARS: dict[str, ConfigVar] = {v.name: v for v in (
    ConfigVar("cache_user_symbols", "choice", None, USER_SYMBOL_CACHES),
    ConfigVar("cpp_demangle", "bool", True),
    ConfigVar("lazy_symbolication", "bool", False),
    ConfigVar("license", "choice", "GPL", LICENSES),
    ConfigVar("log_size", "uint", 1000000),
    ConfigVar("max_bpf_progs", "uint", 1024),
    ConfigVar("max_cat_bytes", "uint", 10240),
    ConfigVar("max_map_keys", "uint", 4096),
    ConfigVar("max_probes", "uint", 1024),
    ConfigVar("max_strlen", "uint", 1024),
    ConfigVar("missing_probes", "choice", "error", MISSING_PROBES),
    ConfigVar("on_stack_limit", "uint", 32),
    # None: unset, the caller's Options value stays (0: room for a burst of 1M records)
    ConfigVar("perf_rb_pages", "uint", None),
    ConfigVar("print_maps_on_exit", "bool", True),
    ConfigVar("show_debug_info", "bool", False),  # no blazesym: no file/line info
    ConfigVar("stack_mode", "choice", "bpftrace", STACK_MODES),
    ConfigVar("str_trunc_trailer", "text", ".."),
    ConfigVar("unstable_tseries", "choice", "warn", FEATURE_MODES),
    ConfigVar("unstable_dw_ustack", "choice", "warn", FEATURE_MODES),
    # Features that were unstable in earlier releases: accepted (error refuses them).
    ConfigVar("unstable_map_decl", "choice", "enable", FEATURE_MODES),
    ConfigVar("unstable_macro", "choice", "enable", FEATURE_MODES),
    ConfigVar("unstable_import", "choice", "enable", FEATURE_MODES),
)}

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


def canonical_name(written: str) -> str | None:
    """The variable a config block name means (`BPFTRACE_STACK_MODE`, `STACK_MODE` and
    `stack_mode` alike), None when there is none."""
    name = written[len(PREFIX):] if written.startswith(PREFIX) else written
    name = name.lower() if name.isupper() or name.islower() else name
    return name if name in CONFIG_VARS else None


def config_default(name: str) -> Value | None:
    """The reference's default for a config variable."""
    return CONFIG_VARS[name].default


def _listed(choices: tuple[str, ...]) -> str:
    return ", ".join(choices[:-1]) + f", and {choices[-1]}"


def _choice_error(var: ConfigVar) -> str:
    return f"Invalid value for {var.name}: valid values are {_listed(var.choices)}."


# ---------------------------------------------------------------- environment text


def env_value(var: ConfigVar, env_name: str, text: str) -> Value:
    """A value from environment text; EnvError with bpftrace's message when invalid."""
    if var.kind == "uint":
        m = re.match(r"\s*\+?(\d+)", text)  # what `istream >> uint64_t` accepts
        if m is None or int(m.group(1)) >= 1 << 64:
            raise EnvError(f"Env var '{env_name}' did not contain a valid uint64_t, or was "
                           "zero-valued.")
        return int(m.group(1))
    if var.kind == "bool":
        if text in ("1", "true"):
            return True
        if text in ("0", "false"):
            return False
        raise EnvError(f"Env var '{env_name}' did not contain a valid value (0 or 1).")
    if var.kind == "choice":
        if var.name == "cache_user_symbols":
            text = {"1": "PER_PID", "0": "NONE"}.get(text, text)
        if text not in var.choices:
            raise EnvError(_choice_error(var))
    return text


@dataclass(slots=True)
class Environment:
    """What the environment sets: config variables, env-only paths and the colour mode."""

    config: dict[str, Value] = field(default_factory=dict)
    btf_path: str | None = None
    kernel_source: str | None = None
    kernel_build: str | None = None
    vmlinux: str | None = None
    color: str = "auto"
    warnings: list[str] = field(default_factory=list)


def read_environment(env: Mapping[str, str] | None = None) -> Environment:
    """Every `BPFTRACE_*` setting in `env` (default: os.environ); EnvError on a bad one."""
    env = os.environ if env is None else env
    out = Environment()
    for old, (name, inverted) in LEGACY_VARS.items():
        if old in env:
            value = env_value(CONFIG_VARS[name], old, env[old])
            out.config[name] = (not value) if inverted else value
    for name, var in CONFIG_VARS.items():
        env_name = PREFIX + name.upper()
        if env_name in env:
            out.config[name] = env_value(var, env_name, env[env_name])
    mode = env.get("BPFTRACE_COLOR")
    if mode in COLORS:
        out.color = mode
    elif mode is not None:
        out.warnings.append("Invalid env value! The valid values of `BPFTRACE_COLOR` are "
                            f"[auto|always|never]. The current value is {mode}!")
    out.btf_path = env.get("BPFTRACE_BTF") or None
    out.kernel_source = env.get("BPFTRACE_KERNEL_SOURCE") or None
    out.kernel_build = env.get("BPFTRACE_KERNEL_BUILD") or None
    out.vmlinux = env.get("BPFTRACE_VMLINUX") or None
    return out


# ---------------------------------------------------------------- config block values


def block_value(var: ConfigVar, value: int | str, is_name: bool) -> Value:
    """A config block value: an integer, a string literal or a bare name (is_name).
    Raises ConfigValueError with the message to show."""
    if var.kind == "uint":
        if isinstance(value, int) and value >= 0:
            return value
        raise ConfigValueError(f"Invalid value for {var.name}: expected a non-negative "
                               "integer")
    if var.kind == "bool":
        words = {"true": True, "false": False, "1": True, "0": False}
        key = str(value).lower() if not isinstance(value, bool) else str(int(value))
        if key in words:
            return words[key]
        raise ConfigValueError(f"Invalid value for {var.name}: expected true or false "
                               "(or 1 or 0)")
    if var.kind == "choice":
        text = str(value)
        if var.name == "cache_user_symbols":
            text = text.upper()
        if text in var.choices:
            return text
        raise ConfigValueError(_choice_error(var))
    if is_name or not isinstance(value, str):
        raise ConfigValueError(f"Invalid value for {var.name}: expected a string literal")
    return value


def resolve(block: Mapping[str, Value], env: Mapping[str, Value]) -> dict[str, Value]:
    """Every variable's value: the environment, else the config block, else the default
    (variables whose default is computed where used are left out when unset)."""
    out: dict[str, Value] = {}
    for name, var in CONFIG_VARS.items():
        if name in env:
            out[name] = env[name]
        elif name in block:
            out[name] = block[name]
        elif var.default is not None:
            out[name] = var.default
    return out
