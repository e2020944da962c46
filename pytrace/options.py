"""Compile options from the command line that change the program (kept apart from the
passes so a cached start-up can build its cache key without importing the compiler).

Everything here is plain data. The config variables (pytrace/config.py) are fields too:
the CLI puts what the `BPFTRACE_*` environment sets in `config`; the config pass fills
each field from the environment, the script's `config = { ... }` block or the default,
and the passes, codegen and (through Resources.config) the runtime read the fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# -k / --warnings and --no-warnings, as bpftrace counts them.
WARNINGS_OFF = 0
WARNINGS_DEFAULT = 1
WARNINGS_HELPERS = 2



@dataclass(slots=True)
class Options:
    """Compile options from the command line that change the program."""

    params: list[str] = field(default_factory=list)  # $1.. as given
    pid: int | None = None  # -p
    has_child: bool = False  # -c: cpid is valid
    unsafe: bool = False
    tracefs: str = "/sys/kernel/tracing"
    # Named program parameters after `--` (`--aa=20` -> {'aa': '20'}, `--bb` -> {'bb': ''}),
    # for getopt(); kept in the order given.
    named_params: dict[str, str] = field(default_factory=dict)
    warning_level: int = WARNINGS_DEFAULT  # 0 --no-warnings, 2 -k (helper error checks)
    usdt_file_activation: bool = False  # --usdt-file-activation
    include_dirs: list[str] = field(default_factory=list)  # -I DIR
    include_files: list[str] = field(default_factory=list)  # --include FILE
    probe_filter: str | None = None  # --probe-filter REGEX
    # Config variables set through the environment (`BPFTRACE_MAX_MAP_KEYS=8192` ->
    # {'max_map_keys': 8192}); they win over a script's `config = { ... }` block.
    config: dict[str, int | str | bool] = field(default_factory=dict)
    # Environment-only settings (BPFTRACE_BTF, _KERNEL_SOURCE, _KERNEL_BUILD, _VMLINUX).
    btf_path: str | None = None
    kernel_source: str | None = None
    kernel_build: str | None = None
    vmlinux: str | None = None
    mode: str = "run"  # 'run', 'test' (--test) or 'bench' (--mode bench / --bench)
    # ---- config variables, as resolved by the config pass (defaults: the reference's)
    cache_user_symbols: str = "PER_PID"
    cpp_demangle: bool = True
    lazy_symbolication: bool = False
    license: str = "GPL"
    log_size: int = 1000000
    max_bpf_progs: int = 1024
    max_cat_bytes: int = 10240
    max_map_keys: int = 4096
    max_probes: int = 1024
    max_strlen: int = 1024
    missing_probes: str = "error"
    on_stack_limit: int = 32
    # ring buffer pages (rounded up to a power of two); 0: room for a burst of 1M records
    # (codegen/maps.py:default_ringbuf_bytes). Unset in the environment and the config
    # block, the caller's value stays (the REPL asks for less).
    perf_rb_pages: int = 0
    print_maps_on_exit: bool = True
    show_debug_info: bool = False
    stack_mode: str = "bpftrace"
    str_trunc_trailer: str = ".."
    unstable_tseries: str = "warn"
    unstable_dw_ustack: str = "warn"
    unstable_map_decl: str = "enable"
    unstable_macro: str = "enable"
    unstable_import: str = "enable"

    @property
    def helper_errors(self) -> bool:
        """-k: report failing BPF helpers (probe reads, map lookups) at run time."""
        return self.warning_level >= WARNINGS_HELPERS

    def config_value(self, name: str, script: dict[str, int | str] | None = None,
                     default: int | str | bool | None = None) -> int | str | bool | None:
        """A config variable's value: the environment first, then the script's config
        block, then `default` (bpftrace's precedence)."""
        if name in self.config:
            return self.config[name]
        if script is not None:
            for key in (name, name.upper(), f"BPFTRACE_{name.upper()}"):
                if key in script:
                    return script[key]
        return default
