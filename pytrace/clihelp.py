"""The `pytrace --help` text: bpftrace's USAGE layout in pytrace's own words."""

from __future__ import annotations

USAGE = """\
pytrace - bpftrace-compatible tracing for Linux, compiled to eBPF from Python

USAGE:
    pytrace [options] filename [args...]
    pytrace [options] - <stdin input>
    pytrace [options] -e 'program' [args...]
    pytrace                      start the interactive REPL (on a terminal)
    put -- after filename/-e 'program' before named script parameters (--name=value)

OPTIONS:
    -e 'program'   run this program text
    -l, --list [search|filename]
                   list the probes matching a search, or those a program attaches
    -v, --verbose  verbose messages; with -l, also the probe arguments
    -h, --help     print this help and exit
    -V, --version  print the pytrace version and exit
    --info         report what this kernel and this build of pytrace support

    -p, --pid PID  filter actions by PID; uprobes, USDT and perf events only in PID
    -c, --cmd CMD  run CMD as a child, trace it, stop when it exits (cpid is its pid)
    --dwarf-pid PID
                   read the DWARF unwind tables of process PID at start, for
                   dw_ustack (repeatable; -p and -c processes are read anyway)
    --usdt-file-activation
                   activate USDT semaphores in every process mapping the file

    -o, --output FILE
                   write the trace output to FILE instead of stdout
    -f FORMAT      output format: 'text' (default) or 'json' (one record a line)
    -B MODE        output buffering: 'line' (default), 'full' or 'none'
    -q, --quiet    keep messages quiet (no "Attached N probes")
    -k, --warnings warn at run time when a probe read or map lookup fails
    --no-warnings  do not print any warning

    -I DIR         add DIR to the search path of #include
    --include FILE include FILE before the program (as #include would)
    --debuginfo DIR[:DIR]
                   extra directories to search for DWARF debug information
    --traceable-functions FILE
                   read the traceable kernel functions from FILE

    --unsafe       allow functions with side effects (system, signal, ...)
    --no-feature FEATURE[,FEATURE]
                   do not use a detected feature (kprobe_multi, uprobe_multi,
                   kprobe_session)
    --probe-filter REGEX
                   load only the probes whose name matches REGEX (BEGIN/END always)
    --prometheus [HOST:]PORT
                   serve every map as Prometheus metrics on http://HOST:PORT/metrics
    --prometheus-max-keys N
                   export at most N keys per map to Prometheus (default 1000, 0: all)

TROUBLESHOOTING OPTIONS:
    --dry-run      check and compile the program, then exit (needs no root)
    -d, --debug STAGE
                   print a compiler stage ('all', 'ast', 'types', 'codegen',
                   'codegen-opt', 'dis', 'verifier'); repeat or separate with ','
    --emit-elf FILE
                   (dry run) write the compiled BPF ELF object to FILE
    --emit-llvm FILE
                   write the LLVM IR to FILE.original.ll and FILE.optimized.ll
    --verify-llvm-ir
                   check the generated LLVM IR (pytrace always does)

ENVIRONMENT:
    Config variables may be set as BPFTRACE_<NAME>; they win over the script's
    config = { ... } block:
    BPFTRACE_MAX_PROBES         [default: 1024] maximum probes to attach
    BPFTRACE_MAX_BPF_PROGS      [default: 1024] maximum BPF programs generated
    BPFTRACE_PRINT_MAPS_ON_EXIT [default: 1] print the maps at exit
    Also read and checked, for the compiler and the runtime (docs/cli.md says which
    of them change pytrace's behaviour today):
    BPFTRACE_MAX_MAP_KEYS, BPFTRACE_MAX_STRLEN, BPFTRACE_MAX_CAT_BYTES,
    BPFTRACE_LOG_SIZE, BPFTRACE_PERF_RB_PAGES, BPFTRACE_STACK_MODE,
    BPFTRACE_MISSING_PROBES, BPFTRACE_CPP_DEMANGLE, BPFTRACE_CACHE_USER_SYMBOLS,
    BPFTRACE_LAZY_SYMBOLICATION, BPFTRACE_SHOW_DEBUG_INFO, BPFTRACE_ON_STACK_LIMIT,
    BPFTRACE_STR_TRUNC_TRAILER, BPFTRACE_LICENSE, BPFTRACE_UNSTABLE_TSERIES,
    BPFTRACE_UNSTABLE_DW_USTACK
    Environment only:
    BPFTRACE_COLOR              [default: auto] colour of the terminal output:
                                auto, always or never
    BPFTRACE_BTF                [default: none] a BTF file for kernel types
    BPFTRACE_KERNEL_SOURCE      [default: /lib/modules/$(uname -r)] kernel headers
    BPFTRACE_KERNEL_BUILD       [default: /lib/modules/$(uname -r)] out-of-tree build
    BPFTRACE_VMLINUX            [default: none] vmlinux for kernel symbols
    PYTRACE_NO_CACHE            do not use the compiled-object cache
    XDG_CACHE_HOME              where the cache lives ($XDG_CACHE_HOME/pytrace)

EXAMPLES:
    pytrace -l '*sleep*'
        list the probes with "sleep" in their name
    pytrace -lv 'tracepoint:syscalls:sys_enter_openat'
        show the arguments of the openat tracepoint
    pytrace -e 'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, str(args.filename)); }'
        trace file opens with the process name and path
    pytrace -e 'tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }'
        count system calls by process name
    pytrace -e 'profile:hz:99 { @[ustack] = count(); }' -p 1337
        sample the user stacks of process 1337 at 99 Hertz
    pytrace -c 'ls -l' -e 'uprobe:libc:malloc /pid == cpid/ { @ = hist(arg0); }'
        histogram of the sizes ls asks malloc for
    pytrace script.bt -- --verbose=1
        run a script, passing it the named parameter verbose

DOCUMENTATION:
    docs/cli.md, docs/language.md and docs/probes.md in the pytrace sources
"""
