"""How each builtin is called and what it gives, in one line, for people: the REPL's
completion menu and bottom toolbar show it.

`signature(name)` is the registry's own arity (`min_args`/`max_args`) dressed with the
parameter names and a summary written here; a builtin registered without a line here
still gets a signature derived from its arity. tests/builtins/test_signatures.py
checks that every line agrees with the registry.
"""

from __future__ import annotations

from pytrace.builtins.base import Builtin

# name -> (parameters as written inside the parentheses, or None for an identifier;
#          what the value is / what the call does)
_DOCS: dict[str, tuple[str | None, str]] = {
    "pid": (None, "process id (thread group id) of the current task"),
    "tid": (None, "thread id of the current task"),
    "uid": (None, "user id of the current task"),
    "gid": (None, "group id of the current task"),
    "cpu": (None, "the CPU the probe runs on"),
    "nsecs": (None, "nanoseconds since boot (monotonic clock)"),
    "elapsed": (None, "nanoseconds since the tracer started"),
    "ncpus": (None, "number of CPUs"),
    "numaid": (None, "NUMA node of the current CPU"),
    "jiffies": (None, "kernel jiffies counter"),
    "rand": (None, "a random 32-bit number"),
    "cgroup": (None, "cgroup v2 id of the current task"),
    "cpid": (None, "pid of the child started with -c"),
    **{f"arg{i}": (None, f"argument {i} of a uprobe/kprobe function") for i in range(10)},
    "retval": (None, "return value in a uretprobe/kretprobe"),
    "comm": (None, "name of the current task (16 bytes)"),
    "probe": (None, "full name of the probe that fired"),
    "func": (None, "name of the traced function"),
    "username": (None, "user name of the current uid"),
    "curtask": (None, "the current task_struct (kernel pointer)"),
    "args": (None, "the probe's arguments: tracepoint fields, function parameters"),
    "kstack": ("[mode][, limit]", "kernel stack of the current task"),
    "ustack": ("[mode][, limit]", "user stack of the current task"),
    "ksym": ("addr", "kernel symbol name of an address"),
    "usym": ("addr", "user symbol name of an address"),
    "printf": ("fmt, ...", "print formatted text"),
    "print": ("value | @map[, top[, div]]", "print a value, or a map now"),
    "exit": ("[code]", "stop tracing (in the REPL: detach this entry only)"),
    "time": ("[fmt]", "print the current time (strftime format)"),
    "cat": ("path_fmt, ...", "print a file's contents"),
    "join": ("argv[, sep]", "print an array of strings joined by sep"),
    "system": ("cmd_fmt, ...", "run a shell command (--unsafe)"),
    "clear": ("@map", "delete every key of a map"),
    "zero": ("@map", "set every value of a map to zero"),
    "delete": ("@map[key] | @map, key", "delete one key of a map"),
    "has_key": ("@map, key", "whether a map holds a key"),
    "len": ("@map | ustack | kstack", "number of keys of a map, or frames of a stack"),
    "str": ("ptr[, len]", "NUL-terminated string read from an address"),
    "buf": ("ptr[, len]", "bytes read from an address, printed with %r"),
    "strncmp": ("s1, s2, n", "compare the first n bytes of two strings (0 if equal)"),
    "strcontains": ("haystack, needle", "whether haystack contains needle"),
    "strftime": ("fmt, nsecs", "a timestamp formatted in userspace"),
    "kaddr": ("\"symbol\"", "address of a kernel symbol"),
    "uaddr": ("\"symbol\"", "address of a symbol of the traced binary"),
    "reg": ("\"name\"", "value of a CPU register"),
    "ntop": ("[af, ]addr", "IPv4/IPv6 address as text"),
    "pton": ("\"address\"", "an IP address literal as bytes"),
    "macaddr": ("addr", "six bytes printed as a MAC address"),
    "strerror": ("errno", "the error message of an errno"),
    "signal": ("sig", "send a signal to the current task (--unsafe)"),
    "override": ("rc", "override a kprobed function's return value (--unsafe)"),
    "cgroupid": ("\"path\"", "cgroup id of a cgroup path"),
    "cgroup_path": ("id[, \"hierarchy\"]", "cgroup path of a cgroup id"),
    "bswap": ("n", "n with its bytes reversed"),
    "path": ("path_ptr[, size]", "full path of a struct path"),
    "count": ("", "count the events (aggregation)"),
    "sum": ("n", "sum of n (aggregation)"),
    "min": ("n", "minimum of n (aggregation)"),
    "max": ("n", "maximum of n (aggregation)"),
    "avg": ("n", "average of n (aggregation)"),
    "stats": ("n", "count, average and total of n (aggregation)"),
    "hist": ("n[, k]", "log2 histogram of n, k sub-buckets per power of two"),
    "lhist": ("n, min, max, step", "linear histogram of n"),
}


def doc(name: str) -> tuple[str | None, str] | None:
    """(parameters or None for an identifier, summary) written for `name`, else None."""
    return _DOCS.get(name)


def _derived(b: Builtin) -> str:
    names = [f"a{i}" for i in range(1, min(b.max_args, 4) + 1)]
    shown = ", ".join(names[:b.min_args])
    optional = names[b.min_args:]
    if optional:
        shown += ("[, " if shown else "[") + ", ".join(optional) + "]"
    if b.max_args > 4:
        shown += ", ..."
    return shown


def signature(b: Builtin) -> str:
    """`hist(n[, k])`, `pid`, `printf(fmt, ...)`: how the builtin is written."""
    written = _DOCS.get(b.name)
    params = written[0] if written else (None if b.identifier and not b.max_args
                                         else _derived(b))
    if params is None:
        return b.name
    return f"{b.name}({params})"


def summary(b: Builtin) -> str:
    """One line saying what the builtin is or does ('' when none is written)."""
    written = _DOCS.get(b.name)
    return written[1] if written else ""
