"""The `BPFTRACE_*` environment: the environment front end of the config variables.

The table of config variables and both of its front ends (the environment and a
script's `config = { ... }` block) live in pytrace/config.py: one mechanism, one set of
checks and defaults. This module keeps the names the CLI imports.
"""

from __future__ import annotations

from pytrace.config import (
    COLORS,
    CONFIG_VARS,
    ENV_ONLY,
    FEATURE_MODES,
    LEGACY_VARS,
    LICENSES,
    PREFIX,
    EnvError,
    Environment,
    config_default,
    read_environment,
)

__all__ = ["COLORS", "CONFIG_VARS", "ENV_ONLY", "FEATURE_MODES", "LEGACY_VARS", "LICENSES",
           "PREFIX", "EnvError", "Environment", "config_default", "read_environment"]
