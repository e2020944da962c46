"""Programs that together reach every compile-time diagnostic of pytrace.

Each `Case` is a program that must not compile (or compiles with a warning), the
options it needs, and a piece of the message it must produce.
`tests/test_diagnostics_coverage.py` compiles them all (parse, passes, codegen, LLVM:
what `--dry-run` does) and checks that every diagnostic site found by
`tests/diagnostic_sites.py` is matched by some produced message, that every error is
located, and that none is an internal error.

Adding a diagnostic to pytrace means adding a case here (or, when no program can reach
it, an UNREACHABLE entry saying why). Placeholders in a program are filled by the test:
`{not_elf}` (a file that is not an ELF object), `{bad_elf}` (an ELF file whose header
points past its end), `{usdt_bin}` (a binary built by the test whose USDT notes have
operands pytrace cannot read), `{arm_elf}` (that binary marked as aarch64 code),
`{err_h}` (a header whose `#error` stops the preprocessor), `{import_dir}` (scripts and
files to import: see the test's fixture), `{nowhere}` (a missing path), `{dwarf_bin}`
(a -g binary: `add(int x, double ratio)` in dwarf.c, two providers of usdt `tick`),
`{bad_dwarf}` (it with a garbage line table), `{bad_usdt}` ({usdt_bin} with a broken
program header offset) and
zip archives: `{zip}` (a stored and a compressed member), `{zip_short}` (a local header
past the end) and `{zip_badlocal}` (a stored member whose local header is broken);
`{plain_prog}` is the id of a BPF program the test loads without BTF.
"""

from __future__ import annotations

from dataclasses import dataclass

PLACEHOLDERS = ("not_elf", "bad_elf", "arm_elf", "usdt_bin", "nowhere", "err_h", "import_dir",
                "dwarf_bin", "bad_dwarf", "bad_usdt", "zip", "zip_short", "zip_badlocal",
                "plain_prog")
LONG = "x" * 200
NESTED = "program is nested too deeply"  # a string literal big enough to fill the BPF stack quickly


@dataclass(frozen=True, slots=True)
class Case:
    """A program whose diagnostics (errors, or warnings when it compiles) include one
    containing `expect`."""

    text: str
    expect: str
    params: tuple[str, ...] = ()
    unsafe: bool = False
    has_child: bool = False
    pid: int | None = None
    tracefs: str | None = None  # None: the real tracefs
    probe_filter: str | None = None  # --probe-filter
    named: tuple[tuple[str, str], ...] = ()  # named program parameters (`-- --name=value`)

    @property
    def id(self) -> str:
        return self.text if len(self.text) <= 60 else self.text[:57] + "..."


def _cases(expect_text: str) -> list[Case]:
    """Cases written as `expect || program` lines (`<NL>` stands for a line break in the
    program)."""
    out = []
    for line in expect_text.strip().splitlines():
        line = line.strip()
        if not line:
            continue
        expect, _, text = line.partition(" || ")
        out.append(Case(text.replace("<NL>", "\n"), expect.strip()))
    return out


# ----------------------------------------------------------------- syntax (parser.py,
# transformer.py)
SYNTAX = _cases(r"""
syntax error, unexpected ; || BEGIN { @ = 1 +; }
syntax error, unexpected end of file || BEGIN { @ = 1;
end of file during comment || BEGIN { @ = 1; } /* never closed<NL>
unterminated string || BEGIN { printf("abc); }
invalid character '`' || BEGIN { @ = 1 ` 2; }
integer literal out of range || BEGIN { @ = 99999999999999999999999; }
left side of an assignment must be || BEGIN { 1 = 2; }
a for loop iterates over a @map or a range || BEGIN { for ($x : 1) { } }
++ applies to a $variable or a @map || BEGIN { 1++; }
$0 is not a positional parameter || BEGIN { @ = $0; }
invalid integer literal: 08 || BEGIN { @ = 08; }
end of file during comment || BEGIN { @ = 1; /* x */ } /* never closed
""") + [
    # nesting deeper than the parser's, the passes' and codegen's recursion can follow
    Case("BEGIN { @ = " + "(" * 600 + "1" + ")" * 600 + "; }", NESTED),
    Case("BEGIN { @ = 1" + " + 1" * 400 + "; }", NESTED),
    Case("BEGIN { @ = 1" + " && 1" * 300 + "; }", NESTED),
    Case("BEGIN { @ = 1 \x01 2; }", "syntax error, invalid character '\\x01'"),
    # bytes that are not UTF-8 (a file or argv decoded with surrogateescape)
    Case("BEGIN { @\udcff = 1; }", "syntax error, invalid character '\\xff'"),
]

# ----------------------------------------------------------------- probes (probes/)
PROBES = _cases(r"""
Invalid probe type: nosuch || nosuch:foo { }
BEGIN probes take no arguments || BEGIN:x { }
END probes take no arguments || END:x { }
invalid offset 'zz' || kprobe:vfs_read+zz { }
kretprobe does not take an offset || kretprobe:vfs_read+8 { }
No kernel function matches kprobe:nosuch_pytrace_* || kprobe:nosuch_pytrace_* { }
kprobe wildcards cannot take an offset || kprobe:vfs_*+4 { }
invalid kprobe attach point || kprobe:+4 { }
invalid fentry attach point || fentry:a:b:c { }
watchpoints on function arguments ('func+1') || watchpoint:func+1:8:w { }
watchpoints on function arguments ('func:1') || watchpoint:func:1:8:w { }
invalid watchpoint address 'zz' || watchpoint:zz:8:w { }
watchpoint address must be greater than 0 || watchpoint:0:8:w { }
watchpoint length must be one of (1,2,4,8) || watchpoint:0x1000:3:w { }
invalid watchpoint mode: q || watchpoint:0x1000:8:q { }
watchpoint modes may not be duplicated || watchpoint:0x1000:8:ww { }
invalid watchpoint mode: rx || watchpoint:0x1000:8:xr { }
asyncwatchpoint probes are not supported by pytrace || asyncwatchpoint:0x1000:8:w { }
invalid interval attach point 'interval:5x' || interval:5x { }
invalid interval attach point || interval:s:1:2 { }
1 is not an accepted unit of time || interval:1:s { }
m is not an accepted unit of time || interval:m:1 { }
invalid interval rate: 'abc' is not a number || interval:s:abc { }
invalid interval rate: '1.5' is not an integer || interval:s:1.5 { }
invalid interval rate: 0 must be greater than 0 || interval:s:0 { }
frequency 2000000000 hz is too high || interval:hz:2000000000 { }
invalid interval rate: 99999999999999999999 is too large || interval:s:99999999999999999999 { }
invalid software count: 99999999999999999999 is too large || software:faults:99999999999999999999 { }
a period of 18446744073 s is too long || interval:s:18446744073 { }
invalid address '0x99999999999999999999' || uprobe:/bin/sh:0x99999999999999999999 { }
invalid offset '99999999999999999999' || uprobe:/bin/sh:main+99999999999999999999 { }
invalid watchpoint address '0x99999999999999999999' || watchpoint:0x99999999999999999999:8:w { }
invalid software attach point || software:a:b:c { }
Unknown software event: nosuch || software:nosuch { }
Unknown hardware event: nosuch || hardware:nosuch:100 { }
invalid tracepoint attach point || tracepoint:sched { }
tracepoint not found: sched:nosuch || tracepoint:sched:nosuch { }
tracepoint not found: nosuchcat:x || tracepoint:nosuchcat:x { }
raw tracepoint not found: nosuch || rawtracepoint:nosuch { }
uprobe target file '{nowhere}' does not exist || uprobe:{nowhere}:f { }
cannot read ELF symbols of '{bad_elf}' || uprobe:{bad_elf}:main { }
Could not resolve symbol: || uprobe:/bin/sh:no_such_function_anywhere { }
invalid uprobe attach point || uprobe:/bin/sh { }
invalid address '0xzz' || uprobe:/bin/sh:0xzz { }
uprobe target file '{not_elf}' does not exist or is not executable || uprobe:{not_elf}:f { }
cannot read USDT notes of '{bad_usdt}' || usdt:{bad_usdt}:p { }
invalid usdt attach point || usdt:/bin/sh { }
USDT probe not found: || usdt:/bin/sh:no_such_probe { }
Could not add uprobe into middle of instruction: || uprobe:{usdt_bin}:main+2 { }
Can't check if uprobe is in proper place (not x86-64 code) || uprobe:{arm_elf}:main+2 { }
rawtracepoint module not found: nosuchmod || rawtracepoint:nosuchmod:sys_enter { }
raw tracepoint not found: vmlinux:nosuch || rawtracepoint:vmlinux:nosuch { }
uretprobes cannot be attached at function offset. || uretprobe:{dwarf_bin}:add+1 { }
Offset outside the function bounds ('add' size is || uprobe:{dwarf_bin}:add+99999 { }
Could not resolve address: {dwarf_bin}:0x1 || uprobe:{dwarf_bin}:1 { }
uretprobes cannot be attached to a source location || uretprobe:{dwarf_bin}@dwarf.c:5 { }
Could not resolve source location dwarf.c:999 in || uprobe:{dwarf_bin}@dwarf.c:999 { }
Could not resolve symbol: {dwarf_bin}:cpp:ns::nosuch || uprobe:{dwarf_bin}:cpp:"ns::nosuch" { }
No DWARF found for "{usdt_bin}", cannot resolve source locations || uprobe:{usdt_bin}@usdt.c:1 { }
cannot read the line table of '{bad_dwarf}' || uprobe:{bad_dwarf}@dwarf.c:5 { }
namespace for usdt:{dwarf_bin}:tick not specified, matched 2 probes || usdt:{dwarf_bin}:tick { }
'lib.so' is not in the archive '{zip}' || uprobe:{zip}!/lib.so:main { }
cannot read the archive '{not_elf}': File is not a zip file || uprobe:{not_elf}!/lib.so:main { }
'packed.so' is compressed in '{zip}' || uprobe:{zip}!/packed.so:main { }
cannot read the archive '{zip_short}': || uprobe:{zip_short}!/stored.so:main { }
cannot read the archive '{zip_badlocal}': bad local header of 'stored.so' || uprobe:{zip_badlocal}!/stored.so:main { }
iter should specify a iterator's name || iter::task { }
invalid iter attach point || iter:task:a:b { }
iter probe type does not support wildcards || iter:task* { }
iter nosuch not available for your kernel version. || iter:nosuch { }
Only single iter attach point is allowed. || iter:task,iter:task_file { }
An iter probe cannot be mixed with any other probe || iter:task { } interval:s:1 { }
printf in iter probes cannot print '%.2d' || iter:task { printf("%.2d", 1); }
printf in iter probes takes at most 12 arguments || iter:task { printf("%d %d %d %d %d %d %d %d %d %d %d %d %d", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13); }
printf in iter probes cannot print the character || iter:task { printf("\x01"); }
printf in iter probes prints %s of strings only || iter:task { printf("%s", 1); }
Can not access args.a: no DWARF found for "{usdt_bin}" || uprobe:{usdt_bin}:main { @ = args.a; }
args.nosuch is not a parameter of add || uprobe:{dwarf_bin}:add { @ = args.nosuch; }
args.ratio of add cannot be read through args || uprobe:{dwarf_bin}:add { @ = args.ratio; }
""") + [
    Case("tracepoint:sched:sched_switch { }", "cannot read tracepoints from {nowhere}",
         tracefs="{nowhere}"),
    Case("uprobe:*:main { }", "cannot read the mappings of pid 999999999", pid=999999999),
]

# ------------------------------------------------- C definitions (cdefs/: the front end)
CDEFS = _cases(r"""
'nosuch.h' file not found || #include <nosuch.h><NL>BEGIN { }
malformed #include: nosuch || #include nosuch<NL>BEGIN { }
#error stop here || #error stop here<NL>BEGIN { }
invalid preprocessing directive || # a comment written the shell way<NL>BEGIN { }
Unterminated #if 1 || #if 1<NL>BEGIN { }
Invalid declaration || typedef;<NL>BEGIN { }
Invalid expression || typedef enum { A = } e;<NL>BEGIN { }
syntax error before ';' || struct foo { int a[; };<NL>BEGIN { }
field has incomplete type 'struct b' || struct a { struct b inner; };<NL>BEGIN { @ = sizeof(struct a); }
#error this header refuses || #include "{err_h}"<NL>BEGIN { }
""")

# ------------------------------------- program shape, config, imports, macros (issue 13)
LANGUAGE = _cases(r"""
only one config block is allowed || config = { max_map_keys = 1 }<NL>config = { max_map_keys = 2 }<NL>BEGIN { }
the config block must come before probes || BEGIN { }<NL>config = { max_map_keys = 1 }
C definitions must come before probes || BEGIN { }<NL>#include <linux/types.h>
syntax error, unexpected end of file || config = { max_map_keys = 1 }
macro parameter a is given twice || macro m(a, a) { a }<NL>BEGIN { }
floating-point numbers are not supported || BEGIN { @ = 1.5; }
Unrecognized config variable: colour || config = { colour = 1 }<NL>BEGIN { }
Invalid value for max_map_keys: expected a non-negative integer || config = { max_map_keys = "a" }<NL>BEGIN { }
Invalid value for stack_mode: valid values are || config = { stack_mode = nosuch }<NL>BEGIN { }
Invalid value for print_maps_on_exit: expected true or false || config = { print_maps_on_exit = 5 }<NL>BEGIN { }
Invalid value for license: valid values are || config = { license = 5 }<NL>BEGIN { }
Invalid value for str_trunc_trailer: expected a string literal || config = { str_trunc_trailer = x }<NL>BEGIN { }
an imported script cannot have a config block || import "{import_dir}/cfg.bt";<NL>BEGIN { }
Unknown identifier: 'nosuch' || import "{import_dir}/bad.bt";<NL>BEGIN { }
No such file or directory || import "{import_dir}/nosuch.bt";<NL>BEGIN { }
BPF C sources need a C compiler || import "{import_dir}/x.bpf.c";<NL>BEGIN { }
only .bt scripts, .h headers and directories of them can be imported || import "{import_dir}/x.txt";<NL>BEGIN { }
refusing to import from the world-writable directory || import "{import_dir}/ww/a.bt";<NL>BEGIN { }
imports are disabled by the config (unstable_import=error) || config = { unstable_import = error }<NL>import "{import_dir}/bad.bt";<NL>BEGIN { }
Redefinition of macro: m || macro m(a) { a }<NL>macro m(b) { b }<NL>BEGIN { @ = m(1); }
Unknown macro: n || macro m(a) { a }<NL>BEGIN { @ = n!(1); }
Unknown macro: n || BEGIN { @ = n!(1); }
Macro m takes 1 argument(s) (2 provided) || macro m(a) { a }<NL>BEGIN { @ = m(1, 2); }
Recursive macro call detected: a -> b -> a || macro a(x) { b(x) }<NL>macro b(x) { a(x) }<NL>BEGIN { @ = a(1); }
Mismatched argument: macro m expects a scratch variable for $v || macro m($v) { $v + 1 }<NL>BEGIN { @ = m(1); }
Mismatched argument: macro m expects a map (without a key) for @x || macro m(@x) { @x }<NL>BEGIN { @y[1] = 1; @ = m(@y[1]); }
Unhygienic access to map @z in macro m || macro m(a) { @z + a }<NL>BEGIN { @ = m(1); }
container_of() takes 3 arguments (2 provided) || BEGIN { $t = container_of(1, 3); }
container_of(): the second argument must be a type || BEGIN { $t = container_of(1, 2, tasks); }
container_of(): the third argument must be a member name || BEGIN { $t = container_of(1, struct task_struct, 3); }
a type argument must be written typeof(struct task_struct) || macro m(a) { 1 }<NL>BEGIN { @ = m(struct task_struct); }
macros are disabled by the config (unstable_macro=error) || config = { unstable_macro = error }<NL>macro m(a) { a }<NL>BEGIN { @ = m(1); }
hash() takes one argument, the maximum number of entries (2 provided) || let @m = hash(1, 2);<NL>BEGIN { @m[1] = 1; }
the maximum number of entries of @m must be an integer literal from 1 to || let @m = hash(0);<NL>BEGIN { @m[1] = 1; }
map declarations are disabled by the config (unstable_map_decl=error) || config = { unstable_map_decl = error }<NL>let @m = hash(2);<NL>BEGIN { @m[1] = 1; }
Invalid map type: nosuch || let @m = nosuch(2);<NL>BEGIN { @m[1] = 1; }
Map @m is declared twice || let @m = hash(2);<NL>let @m = hash(3);<NL>BEGIN { @m[1] = 1; }
its count values need a per-CPU map type || let @m = hash(2);<NL>BEGIN { @m[1] = count(); }
but per-CPU maps hold aggregations || let @m = percpuhash(2);<NL>BEGIN { @m[1] = 1; }
@m is declared percpuarray, which cannot hold hist() values || let @m = percpuarray(2);<NL>BEGIN { @m[1] = hist(1); }
@m is declared percpuarray: its key must be an integer from 0 to 1 || let @m = percpuarray(2);<NL>BEGIN { @m["a"] = count(); }
Unused map: @m || let @m = hash(2);<NL>BEGIN { }
tseries() is an unstable feature (it may change) || BEGIN { @ = tseries(1, 1000, 10); }
tseries() is an unstable feature and the config disables it || config = { unstable_tseries = error }<NL>BEGIN { @ = tseries(1, 1000, 10); }
tseries(): the interval (ns) must be an integer literal || BEGIN { $i = 1; @ = tseries(1, $i, 10); }
tseries(): the number of intervals must be between 1 and 10000 (100000 provided) || BEGIN { @ = tseries(1, 1000, 100000); }
tseries() only supports integer values (string provided) || BEGIN { @ = tseries("a", 1000, 10); }
tseries(): the aggregation must be one of || BEGIN { @ = tseries(1, 1000, 10, "nosuch"); }
Variable $x was already declared in this scope || BEGIN { let $x = 1; let $x = 2; }
Variable $x shadows a variable of an enclosing scope || BEGIN { let $x = 1; if (1) { let $x = 2; } }
Loop variable $i shadows a variable of an enclosing scope || BEGIN { $i = 1; for ($i : 0..3) { } }
Return value discarded. || BEGIN { 1 + 2; }
the integer literal 300 does not fit in 'uint8' || BEGIN { let $x: uint8 = 300; }
Implicit conversion of a signed value to 'uint8' for $x || BEGIN { $y = -1; let $x: uint8 = $y; }
Integer sign mismatch for $c: no integer type holds both 'uint64' and 'int64' || BEGIN { $c = (uint64)1; $d = (int64)-1; $c = $d; print($c); }
Integer sign mismatch for @m: no integer type holds both 'uint64' and 'int8' || BEGIN { @m = (uint64)1; @m = -1; }
Invalid self probe type: nosuch || self:nosuch:SIGUSR1 { }
Unsupported signal: SIGUSR2 || self:signal:SIGUSR2 { }
invalid test probe || test:a:b { }
invalid bench probe || bench:1-x { }
tracepoint not found: sched:nosuch || config = { missing_probes = warn }<NL>tracepoint:sched:nosuch { }<NL>BEGIN { }
""") + [
    Case("", "syntax error, unexpected end of file"),
    Case("BEGIN { } tracepoint:sched:sched_switch { }", "invalid --probe-filter regular "
         "expression '['", probe_filter="["),
    Case("BEGIN { } tracepoint:sched:sched_switch { }", "No probes matched the probe filter "
         "'nosuch'", probe_filter="nosuch"),
]

# ------------------------------------------------------------- the passes (passes/)
PASSES = [
    Case('BEGIN { printf("%d"' + ", 1" * 130 + "); }", "printf() takes up to 128 arguments (131 provided)"),
    Case('BEGIN { printf("%s\\n", $1); }', "invalid UTF-8 in positional parameter $1 (byte 0xff)",
         params=("a\udcff",)),
    Case('#define X "a\udcfeb"\nBEGIN { printf("%s\\n", X); }', "invalid UTF-8 in string literal (byte 0xfe)"),
    Case('BEGIN { printf("[\\q]\\n"); }', "invalid escape character '\\q'"),
] + _cases(r"""
Invalid value for max_map_keys: config values are integers, strings or names || config = { max_map_keys = 1 + 2 } BEGIN { }
Unknown identifier: 'foo' || BEGIN { @ = foo; }
Unknown config variable: nosuch || BEGIN { @ = config.nosuch; }
The config record is not implemented by pytrace || BEGIN { print(config); }
Unknown function: foo || BEGIN { @ = foo(); }
system() is an unsafe function being used in safe mode || BEGIN { system("ls"); }
The arg0 builtin can not be used with 'BEGIN' probes || BEGIN { @ = arg0; }
syntax error, unexpected ; || #define X (1 +<NL>BEGIN { @ = X; }
Invalid type for if condition || BEGIN { if ("a") { } }
Invalid type for predicate || BEGIN /"a"/ { }
count() should be directly assigned to a map || BEGIN { count(); }
count() should be directly assigned to a map || BEGIN { $x = count(); }
hist() should be directly assigned to a map || BEGIN { @ = (hist(1), 2); }
exit() does not return a value || BEGIN { @x = exit(); }
exit() does not return a value || BEGIN { $x = exit(); }
exit() does not return a value || BEGIN { @[exit()] = 1; }
The expression does not return a value || BEGIN { $x = 1 ? print(1) : print(2); }
print() does not return a value || BEGIN { 1 ? print(1) : 2; }
The += operator can not be used on expressions of type 'count' || BEGIN { @x = count(); @x += 1; }
Type mismatch for '+=': comparing 'string[2]' with 'uint8' || BEGIN { @x = "a"; @x += 1; }
Type mismatch for '+=': comparing 'string[2]' with 'uint8' || BEGIN { $x = "a"; $x += 1; }
Undefined or undeclared variable: $x || BEGIN { $x += 1; }
Undefined or undeclared variable: $x || BEGIN { $x++; }
Undefined or undeclared variable: $a || BEGIN { @ = $a; }
Type mismatch for $x: trying to assign value of type 'string[2]' when variable already contains || BEGIN { $x = 1; $x = "a"; }
when variable is declared as 'int32' || BEGIN { let $x: int32 = "a"; }
unroll() needs an integer literal count || BEGIN { $a = 1; unroll($a) { } }
unroll() count must be between 1 and 100 (200 provided) || BEGIN { unroll(200) { } }
for loop range bounds must be integers || BEGIN { for ($i : "a".."b") { } }
for loops need a keyed map (@m has no key) || BEGIN { @m = 1; for ($kv : @m) { } }
for loops can not read hist maps || BEGIN { @m[1] = hist(1); for ($kv : @m) { } }
'break' statement is not allowed outside of a loop || BEGIN { break; }
'continue' statement is not allowed outside of a loop || BEGIN { continue; }
The ++ operator can not be used on expressions of type 'string[2]' || BEGIN { $x = "a"; $x++; }
The ++ operator can not be used on expressions of type 'string[2]' || BEGIN { @x = "a"; @x++; }
The value of hist() map @x can not be read in an expression || BEGIN { @x = hist(1); @y = @x; }
clear() expects a map without a key as argument || BEGIN { @x[1] = 1; clear(@x[1]); }
Undefined map: @nosuch || BEGIN { clear(@nosuch); }
Undefined map: @nosuch || BEGIN { @ = @nosuch; }
Undefined map: @nosuch || BEGIN { print(@nosuch); }
exit() takes up to 1 argument (3 provided) || BEGIN { exit(1, 2, 3); }
count() requires no arguments (1 provided) || BEGIN { @x = count(1); }
printf() requires at least one argument (0 provided) || BEGIN { printf(); }
delete() expects a map element as argument || BEGIN { delete(1); }
delete() expects a map with no keys for the first argument || BEGIN { @b[1] = 1; delete(@b[1], @b[2]); }
Type mismatch for '==': comparing 'uint8' with 'string[2]' || BEGIN { @ = 1 == "a"; }
Can not take the address of this expression || BEGIN { @ = &pid; }
The ! operator can not be used on expressions of type 'string[2]' || BEGIN { @ = !"a"; }
The * operator can not be used on expressions of type 'string[2]' || BEGIN { @ = *"a"; }
Unknown struct/union: 'struct foo' || BEGIN { $p = (struct foo *)0; @ = *$p; }
Invalid condition in ternary: 'string[2]' || BEGIN { @ = "a" ? 1 : 2; }
Ternary operator must return the same type: have 'integer' and 'string' || BEGIN { @ = 1 ? 1 : "a"; }
Struct/union of type 'struct task_struct' does not contain a field named 'foo' || BEGIN { @ = curtask.foo; }
Record does not contain a field named 'b' || BEGIN { $r = (a=1); @ = $r.b; }
Duplicate field name in record: 'a' || BEGIN { $r = (a=1, a=2); }
typeof() is a type: use it in a cast || BEGIN { print(typeof(1)); }
Unknown type: 'nosuch' || BEGIN { $x = (typeof(nosuch))1; }
Can not access field 'foo' on expression of type 'uint8' || BEGIN { @ = (1).foo; }
Can not access index '0' on expression of type 'uint8' || BEGIN { @ = (1).0; }
Invalid tuple index: 5. Found 2 elements in tuple. || BEGIN { @ = (1, 2).5; }
The index of a tuple must be an integer known at compile time || BEGIN { $i = 1; @ = (1, 2)[$i]; }
Invalid tuple index: 3. Found 2 elements in tuple. || BEGIN { @ = (1, 2)[1 + 2]; }
The array index operator [] needs an integer index, not 'string[2]' || BEGIN { $s = "abc"; @ = $s["x"]; }
the index 9 is out of bounds for array of size 6 || tracepoint:raw_syscalls:sys_enter { @ = args.args[9]; }
the index 99 is out of bounds for array of size 16 || BEGIN { printf("%d\n", curtask->comm[99]); }
the index 4 is out of bounds for array of size 4 || BEGIN { $s = "abc"; @ = $s[4]; }
The array index operator [] can only be used on arrays and pointers || BEGIN { $x = 1; @ = $x[0]; }
Cannot cast from 'string[2]' to 'int8' || BEGIN { @ = (int8)"a"; }
Unknown struct/union: 'struct foo' || BEGIN { @ = offsetof(struct foo, bar); }
offsetof() needs a struct or union, not 'uint64' || BEGIN { @ = offsetof(uint64, a); }
Struct/union of type 'struct task_struct' does not contain a field named 'nosuch' || BEGIN { @ = offsetof(struct task_struct, nosuch); }
Can't find function parameter nosuch || fentry:vfs_read { @ = args.nosuch; }
args has different types in the probes of this block: the parameters of tcp_reset || fentry:vfs_read,fentry:tcp_reset { print(args); }
retval is not available: tcp_reset returns void || fexit:tcp_reset { @ = retval; }
No BTF found for vmlinux:nosuch_pytrace_fn || fentry:nosuch_pytrace_fn { }
No BTF found for nosuch_pytrace_mod:vfs_read || fexit:nosuch_pytrace_mod:vfs_read { }
No kernel function with BTF matches fentry:__pfx_vfs_rea* || fentry:__pfx_vfs_rea* { }
invalid BPF program id 'x1' in fentry:bpf:x1:... || fentry:bpf:x1:f { }
invalid fexit:bpf attach point || fexit:bpf:1:f:g { }
No BPF program with id 4294967295 is loaded || fentry:bpf:4294967295:f { }
has no function nosuch_pytrace_fn with BTF || fexit:bpf:{plain_prog}:nosuch_pytrace_fn { }
No running BPF program with BTF has a function named nosuch_pytrace_fn || fentry:bpf:nosuch_pytrace_fn { }
No running BPF program with BTF matches fentry:bpf:nosuch_pytrace_* || fentry:bpf:nosuch_pytrace_* { }
args can only be read through one of its fields (args.NAME) || rawtracepoint:sched_switch { @ = args; }
the fields of tracepoint:syscalls:sys_enter_close differ from the others' || tracepoint:syscalls:sys_enter_openat, tracepoint:syscalls:sys_enter_close { print(args); }
Cannot cast from 'uint64' to 'int8[4]': the sizes differ (8 and 4 bytes) || BEGIN { @ = (int8[4])(uint64)1; }
Cannot cast from 'uint32' to 'int8[2]': the sizes differ (4 and 2 bytes) || BEGIN { @ = (int8[2])100000; }
Cannot cast from 'int8[4]' to 'uint16': the sizes differ (4 and 2 bytes) || BEGIN { @ = (uint16)(int8[4])7; }
Cannot cast to 'int8 *[2]': array casts need integer elements || BEGIN { @ = (int8 *[2])0; }
Cannot use type 'string' here || BEGIN { @ = (string *)1; }
Cannot cast from 'uint8' to 'string[64]' || BEGIN { @ = (string)1; }
Unknown type: 'enum foo' || BEGIN { @ = (enum foo)1; }
Unknown struct/union: 'struct foo' || BEGIN { @ = (struct foo)1; }
Cannot cast to 'struct task_struct' (a struct; cast to a pointer || BEGIN { @ = (struct task_struct)1; }
Can not access field 'x' on type 'int32 *' || BEGIN { $p = (int32 *)0; @ = $p->x; }
Unknown struct/union: 'struct foo' || BEGIN { @ = sizeof(struct foo); }
if comptime condition cannot be evaluated when the program is compiled || BEGIN { if comptime (pid == 1) { print(1); } }
Type of $a is locked to 'uint32' || BEGIN { $a = 1; if comptime (typeinfo($a).full_ty == "uint32") { $a = (uint64)3; } $a = (uint32)2; }
Different lhist bounds in a single map unsupported || BEGIN { @x = lhist(1, 0, 10, 1); @x = lhist(2, 0, 20, 1); }
Different hist bucket sizes in a single map unsupported || BEGIN { @x = hist(1); @x = hist(2, 3); }
Type mismatch for @x: trying to assign value of type 'string[2]' when map already contains a value of type 'uint8' || BEGIN { @x = 1; @x = "a"; }
Argument mismatch for @x: trying to access with arguments: [uint8, uint8] || BEGIN { @x[1] = 1; @x[1, 2] = 1; }
Argument mismatch for @a: trying to access with arguments: [] when map expects arguments: [uint8] || BEGIN { @a[1] = 1; delete(@a); }
Argument mismatch for @c: trying to access with arguments: [] when map expects arguments: [uint8] || BEGIN { @c[1] = 1; $x = @c; }
when map expects no arguments || BEGIN { @c = 1; @c[1] = 2; }
printf() expects a string literal (integer provided) || BEGIN { printf(1); }
printf: Not enough arguments for format string (0 supplied, 1 expected) || BEGIN { printf("%d\n"); }
printf: Too many arguments for format string (2 supplied, 1 expected) || BEGIN { printf("%d\n", 1, 2); }
printf: %d specifier expects a value of type integer (string supplied) || BEGIN { printf("%d\n", "a"); }
printf: invalid format specifier: %Q || BEGIN { printf("%Q\n", 1); }
printf: unsupported format specifier: n || BEGIN { printf("%n\n", 1); }
printf: unsupported length modifier: L || BEGIN { printf("%Ld\n", 1); }
time() expects a string literal as format || BEGIN { $f = "%H"; time($f); }
""")

# ------------------------------------------------------- builtins' rules (builtins/)
BUILTINS = _cases(r"""
sum() only supports integer arguments (string provided) || BEGIN { @x = sum("a"); }
hist(): the number of bits must be an integer literal || BEGIN { $a = 1; @x = hist(1, $a); }
hist() bits must be between 0 and 5 (10 provided) || BEGIN { @x = hist(1, 10); }
lhist(): min must be an integer literal || BEGIN { $a = 1; @x = lhist(1, $a, 10, 1); }
lhist() min must be non-negative (provided min -1) || BEGIN { @x = lhist(1, -1, 10, 1); }
lhist() min must be less than max (provided min 10 and max 5) || BEGIN { @x = lhist(1, 10, 5, 1); }
lhist() step must be >= 1 (0 provided) || BEGIN { @x = lhist(1, 0, 10, 0); }
lhist() too many buckets, max is 10000 (provided 100000) || BEGIN { @x = lhist(1, 0, 100000, 1); }
lhist() step is too large for the given range (provided step 20 for range 10) || BEGIN { @x = lhist(1, 0, 10, 20); }
Struct/union of type 'struct _tracepoint_sched_sched_switch' does not contain a field named 'nosuch' || tracepoint:sched:sched_switch { @ = args.nosuch; }
args.filename has different types in the probes of this block || tracepoint:sched:sched_process_exec, tracepoint:syscalls:sys_enter_execve { @ = args.filename; }
ntop() expects an integer, char[4] or char[16] address (string provided) || BEGIN { @ = ntop("a"); }
pton() expects a string literal || BEGIN { @ = pton(1); }
strftime() expects a string literal as first argument || BEGIN { @ = strftime(1, 2); }
bswap() expects an integer argument (string provided) || BEGIN { @ = bswap("a"); }
len() of a hist() map is not supported || BEGIN { @h[1] = hist(1); @ = len(@h); }
print() expects integer top and div arguments (string provided) || BEGIN { @x = 1; print(@x, "a"); }
Non-map print() only takes 1 argument, 2 found || BEGIN { print(1, 2); }
cannot print the value of individual keys. You must print the whole map. || BEGIN { @h[1] = hist(3); print(@h[1]); }
print()'s top and div arguments are ignored when used on stats() maps. || BEGIN { @s = stats(1); print(@s, 1, 2); }
strncmp() expects a string as first argument (tuple provided) || BEGIN { @ = strncmp((1, 2), "a", 1); }
exit() expects an integer exit code as first argument (string provided) || BEGIN { exit("a"); }
str() length must be positive (-1 provided) || BEGIN { @ = str("abc", -1); }
kaddr() expects a string literal as first argument || BEGIN { @ = kaddr(1); }
kstack: expected a stack mode (bpftrace, perf, raw) or an integer literal limit || BEGIN { @[kstack(foo)] = count(); }
stack limit must be between 1 and 1024 (0 provided) || BEGIN { @[kstack(0)] = count(); }
ksym() expects an integer address as first argument (string provided) || BEGIN { @ = ksym("a"); }
str() expects an integer or a pointer type as first argument (tuple provided) || BEGIN { @ = str((1, 2)); }
str() expects an integer length (string provided) || BEGIN { @ = str(1, "a"); }
buf() expects an integer, pointer, string or array as first argument (tuple provided) || BEGIN { @ = buf((1,2), 2); }
buf() needs a length as second argument unless the first is an array or a string || BEGIN { @ = buf(1); }
buf() expects an integer length (string provided) || BEGIN { @ = buf(1, "a"); }
dw_ustack is an unstable feature (it may change) || uprobe:/bin/bash:main { @[dw_ustack] = count(); }
dw_ustack is an unstable feature and the config disables it || config = { unstable_dw_ustack = error }<NL>uprobe:/bin/bash:main { @[dw_ustack(perf, 4)] = count(); }
dw_ustack: expected a stack mode || uprobe:/bin/bash:main { @[dw_ustack("x")] = count(); }
skboutput() is not implemented by pytrace || fentry:vfs_read { @ = skboutput("f", 1, 1, 1); }
is_err() expects a pointer (string provided) || BEGIN { @ = is_err("a"); }
Can not access field 'nosuch' of raw tracepoint sched_switch || rawtracepoint:sched_switch { @ = args.nosuch; }
Failed to resolve kernel symbol: nosuch_pytrace_sym || BEGIN { @ = kaddr("nosuch_pytrace_sym"); }
'foo' is not a valid register on this architecture (x86_64) || uprobe:/bin/bash:main { @ = reg("foo"); }
kptr() expects a pointer or integer (string provided) || BEGIN { @ = kptr("a"); }
cgroupid: cannot find the cgroup at '/sys/fs/cgroup/nosuch_pytrace' || BEGIN { @ = cgroupid("/sys/fs/cgroup/nosuch_pytrace"); }
cgroup_path() expects an integer cgroup id (string provided) || BEGIN { print(cgroup_path("a")); }
cgroup_path() expects a string literal filter || BEGIN { $f = "x"; print(cgroup_path(1, $f)); }
Could not resolve per-CPU kernel variable: nosuch_pytrace || BEGIN { @ = percpu_kaddr("nosuch_pytrace"); }
percpu_kaddr() expects an integer cpu (string provided) || BEGIN { @ = percpu_kaddr("runqueues", "a"); }
strftime() expects an integer timestamp as second argument (string provided) || BEGIN { print(strftime("%H", "a")); }
strftime() timestamps must be non-negative || BEGIN { print(strftime("%H", -1)); }
path() expects a struct path * argument (string provided) || fentry:vfs_open { print(path("a")); }
path() expects a positive integer literal size || fentry:vfs_open { print(path((struct path *)0, 0)); }
First argument to 'getopt' must be a string literal. || BEGIN { $a = "x"; @ = getopt($a); }
Second argument to 'getopt' must be a string literal, integer literal, or a boolean literal. || BEGIN { $a = 1; @ = getopt("x", $a); }
getopt() expects a string literal description || BEGIN { $a = "d"; @ = getopt("x", 1, $a); }
kfunc_exist() expects a string literal kfunc name || BEGIN { @ = kfunc_exist(1); }
static_assert() expects a string literal message || BEGIN { $m = "x"; static_assert(1, $m); }
pid() expects one of curr_ns, init as argument || BEGIN { @ = pid(foo); }
ppid() expects a struct task_struct * argument || BEGIN { @ = ppid("a"); }
comm(pid) is not supported by pytrace || BEGIN { @ = comm(1); }
has_key() of a hist() map is not supported || BEGIN { @h[1] = hist(1); @ = has_key(@h, 1); }
len() expects a map or a stack (integer provided) || BEGIN { @ = len(1); }
ntop() expects an integer address family (string provided) || BEGIN { @ = ntop("a", 1); }
pton() expects a valid IPv4 or IPv6 address ('1.2.3' provided) || BEGIN { @ = pton("1.2.3"); }
macaddr() expects an array of 6 bytes or a pointer to them (tuple provided) || BEGIN { @ = macaddr((1, 2)); }
skboutput() expects a string literal file name || fentry:vfs_read { $f = "x"; @ = skboutput($f, 1, 1, 1); }
skboutput() expects an integer as argument 2 (string provided) || fentry:vfs_read { @ = skboutput("f", "a", 1, 1); }
join() expects an integer pointer to an array of strings as first argument (string provided) || tracepoint:syscalls:sys_enter_execve { join("a"); }
join() expects a string literal separator || tracepoint:syscalls:sys_enter_execve { $s = ","; join(args.argv, $s); }
assert() expects a boolean condition (string provided) || BEGIN { assert("a", "m"); }
assert() expects a string literal message || BEGIN { $m = "x"; assert(1, $m); }
strncmp() expects an integer literal as third argument || BEGIN { $n = 1; @ = strncmp("a", "b", $n); }
strncmp() length must not be negative (-1 provided) || BEGIN { @ = strncmp("a", "b", -1); }
memcmp() count 10 is larger than its argument (2 bytes) || BEGIN { @ = memcmp("a", "b", 10); }
assert_str() expects a string-like value (integer provided) || BEGIN { assert_str(1); }
Unreachable statement. || BEGIN { exit(); @ = 1; }
static_assert() expects a condition known when the program is compiled || BEGIN { static_assert(pid == 1, "x"); }
fail() arguments must be literals (they are evaluated when the program is compiled) || BEGIN { fail("%d", pid); }
Command line option 'x' needs to have the same default value in all places it is used. Previous default value: 1 || BEGIN { @a = getopt("x", 1); @b = getopt("x", 2); }
find() expects a scratch variable to store the value in || BEGIN { @m[1] = 1; @ = find(@m, 1, 2); }
""") + [
    # unsafe builtins (signal, write_user) need --unsafe to reach their own checks
    Case('tracepoint:syscalls:sys_enter_openat { signal("SIGFOO"); }', 'Invalid string for signal: SIGFOO', unsafe=True),
    Case('tracepoint:syscalls:sys_enter_openat { signal(100); }', 'Signal must be between 1 and 64', unsafe=True),
    Case('tracepoint:syscalls:sys_enter_openat { signal("100"); }', 'Signal must be between 1 and 64', unsafe=True),
    Case('tracepoint:syscalls:sys_enter_openat { signal((1, 2)); }', 'signal() expects a signal name literal or a signal number (tuple provided)', unsafe=True),
    Case('tracepoint:syscalls:sys_enter_openat { write_user("a", 1, 1); }', 'write_user() expects a user pointer destination (string provided)', unsafe=True),
    Case('tracepoint:syscalls:sys_enter_openat { write_user(args.filename, 1, "a"); }', 'write_user() expects an integer length (string provided)', unsafe=True),
    Case('tracepoint:syscalls:sys_enter_openat { $n = 1; write_user(args.filename, 1, $n); }', 'write_user() expects an integer literal length', unsafe=True),
    Case('tracepoint:syscalls:sys_enter_openat { write_user(args.filename, 1, 0); }', 'write_user() length must be positive (0 provided)', unsafe=True),
    Case('tracepoint:syscalls:sys_enter_openat { write_user(args.filename, 1, 16); }', 'write_user() length 16 is larger than the source (8 bytes)', unsafe=True),
    Case("BEGIN { @ = getopt(\"x\"); }", "unknown named parameter: --zz", named=(("zz", "1"),)),
]

# ------------------------------------------------------------------ codegen/
CODEGEN = _cases(rf"""
program needs more than 448 bytes of BPF stack || BEGIN {{ {" ".join(f"$t{i} = (1, 2, 3, {i});" for i in range(15))} print(({", ".join(f"$t{i}.3" for i in range(15))})); }}
program needs more than 448 bytes of BPF stack || config = {{ on_stack_limit = 4096 }} BEGIN {{ $a = "{LONG}"; $b = "{LONG}"; $c = "{LONG}"; }}
program needs more than 448 bytes of BPF stack || config = {{ on_stack_limit = 4096 }} BEGIN {{ $a = "{LONG}"; @m[1] = 1; for ($kv : @m) {{ printf("%s %s", "{LONG}", "{LONG}"); }} }}
program needs more than 32768 bytes of scratch memory (lower max_strlen) || config = {{ max_strlen = 20000 }} tracepoint:syscalls:sys_enter_openat {{ $a = str(args.filename); $b = str(args.filename); printf("%s %s\n", $a, $b); }}
arg5 is not available: usdt: || usdt:/usr/bin/python3:python:audit {{ @ = arg5; }}
uses an unsupported addressing mode || usdt:{{usdt_bin}}:t:badmode {{ @ = arg0; }}
has an unsupported size 3 || usdt:{{usdt_bin}}:t:badsize {{ @ = arg0; }}
unknown register %xmm0 || usdt:{{usdt_bin}}:t:badreg {{ @ = arg0; }}
unknown register %xmm1 || usdt:{{usdt_bin}}:t:badmemreg {{ @ = arg0; }}
is not a constant pytrace can read || usdt:{{usdt_bin}}:t:badconst {{ @ = arg0; }}
this probe uses 70 maps, but one BPF program may use at most 64 || BEGIN {{ {" ".join(f"@m{i} = 1;" for i in range(70))} }}
LLVM cannot compile probe BEGIN: Looks like the BPF stack limit is exceeded || BEGIN {{ {" ".join(f"$a{i} = nsecs;" for i in range(70))} if (pid > 0) {{ @ = {" + ".join(f"$a{i}" for i in range(70))}; }} }}
""")

# (The LLVM case is a valid program that bpftrace 0.17 refuses too: 70 values live across
# helper calls and into another block need more spill slots than the BPF stack has. It
# stands for LLVM's refusals, which must stay located errors; replace it if codegen
# learns to keep such values in memory. Summed in the same block, they compile.)
CORPUS: list[Case] = SYNTAX + PROBES + CDEFS + LANGUAGE + PASSES + BUILTINS + CODEGEN

# Sites no program can reach, keyed by (file under pytrace/, start of the message with
# `{}` for interpolations; a final `$` for the whole message) -> why. A site listed here
# that some case does reach fails the test: take it off the list. Sites are matched by
# their message, so sites that share one (the lowering's copy of a check the passes make
# first) are reached together.
UNREACHABLE: dict[tuple[str, str], str] = {
    ("passes/maps.py", "dw_ustack is only available on x86_64"): "the tests run on x86_64",
    ("passes/typeexpr.py", "The {} builtin is not implemented by pytrace"): "every builtin "
    "identifier has a lowering since dw_ustack got one (calls: skboutput's case)",
    ("probes/elfsyms.py", "cannot read ELF segments of"): "segments() serves the runtime's "
    "FixedImages, which skips a file it cannot read; expansion reads segments with lookup",
    ("passes/__init__.py", "internal error in"): "the net under a pass's own bug",
    ("parser.py", "internal parser error"): "the net under a transformer bug",
    ("parser.py", "syntax error: "): "Lark raises only UnexpectedInput while parsing",
    ("parser.py", "syntax error$"): "an UnexpectedInput is always EOF, token or character",
    ("probes/registry.py", "Invalid probe: "): "the grammar's attach point always has a ':'",
    ("printf_format.py", "invalid integer conversion"): "runtime rendering of a checked record",
    ("codegen/emitter.py", "internal: "): "the passes type and resolve every node first; "
    "every expression and statement class has a lowering "
    "(tests/codegen/test_lowering_coverage.py)",
    ("codegen/operators.py", "internal: "): "every unary operator of the grammar has a "
    "lowering (tests/codegen/test_lowering_coverage.py)",
    ("codegen/mapiter.py", "internal: "): "the typecheck pass types every for loop variable",
    ("codegen/mapiter.py", "program needs more than"): "a loop body counts its stack on top "
    "of its caller's, so codegen/base.py's check fires first",
    ("codegen/emitter.py", "expected an integer, got"): "the passes allow only integers there",
    ("codegen/emitter.py", "{} cannot be compiled"): "the typecheck pass refuses an entry "
    "without lowering",
    ("codegen/emitter.py", "tuple index out of range"): "the typecheck pass checks the index",
    ("codegen/emitter.py", "cannot cast {} to {}"): "the typecheck pass allows integer casts only",
    ("codegen/emitter.py", "can only assign to variables and maps"): "the transformer refuses "
    "other targets",
    ("codegen/emitter.py", "break outside of a loop"): "the typecheck pass refuses it first",
    ("codegen/emitter.py", "continue outside of a loop"): "the typecheck pass refuses it first",
    ("codegen/mapexpr.py", "++/-- needs a variable or a map"): "the transformer refuses other "
    "targets",
    ("codegen/fields.py", "{} has no field {}"): "the typecheck pass checks every target's fields",
    ("probes/uprobe.py", "C++ names cannot be demangled"): "libstdc++ is installed wherever "
    "the tests run (gcc needs it)",
    ("codegen/fields.py", "{} has no parameter {}"): "the typecheck pass checks every uprobe's "
    "and fentry/fexit target's parameters",
    ("builtins/identifiers.py", "retval is not available in {} probes"): "retval is allowed "
    "only in kretprobe/uretprobe (registers) and fexit (the context) probes",
    ("builtins/args.py", "No BTF found for {}:{} (the kernel's BTF"): "fentry/fexit targets "
    "are found in BTF when expanded; only a kernel changing meanwhile gets here",
    ("probes/special.py", "{} probes need kernel BTF"): "this kernel has BTF",
    ("builtins/identifiers.py", "{} has no field {}"): "args' struct in a tracepoint probe "
    "is built from that tracepoint's own fields",
    ("builtins/identifiers.py", "arg{} is not available in {} probes"): "the resolve pass "
    "allows argN only in kinds that have them",
    ("codegen/usdt.py", "cannot parse USDT argument"): "the operand pattern matches any "
    "non-empty text",
    ("passes/typecheck.py", "{} statements are not supported"): "every statement has a rule",
    ("passes/typeexpr.py", "{} expressions are not supported"): "every expression has a rule",
    ("passes/typeexpr.py", "{} cannot be used as a map key"): "value() refuses aggregations "
    "and void calls first",
    ("passes/typeexpr.py", "{} cannot be stored in a tuple"): "value() refuses aggregations first",
    ("passes/typecheck.py", "Can only assign to a scratch variable"): "the transformer refuses "
    "other targets",
    ("passes/typecheck.py", "Value '{}' cannot be assigned to a map"): "value() refuses void "
    "calls first",
    ("passes/typecheck.py", "Value '{}' cannot be assigned to a scratch"): "value() refuses "
    "aggregations and void calls first",
    ("passes/typecheck.py", "for loops iterate over a whole map"): "the transformer refuses "
    "`for ($kv : @m[k])`",
    ("passes/typecheck.py", "The {} operator needs a variable or a map"): "the transformer "
    "refuses other ++/-- targets",
    ("probes/uprobe.py", "cannot read '{}': {}"): "the file was read for its symbols just "
    "before",
    ("cdefs/parse.py", "C definitions: "): "pycparser always has a token where it stopped; a "
    "message without a place is placed there",
    ("codegen/fields.py", "field access is only supported on args yet"): "only args fields "
    "reach codegen/fields.py",
    ("codegen/fields.py", "internal: "): "only args fields reach codegen/fields.py",
    ("codegen/fields.py", "{} has no argument {}"): "the typecheck pass checks raw tracepoint "
    "arguments first",
    ("codegen/memory.py", "internal: "): "the typecheck pass checks every struct member first",
    ("driver.py", "BPFTRACE_BTF: cannot use"): "the corpus compiles without BPFTRACE_BTF; "
    "tests/runtime/test_btf_file.py sets it to a missing file",
    ("passes/resolve.py", "#define {} is not"): "the C front end expands #define names before "
    "parsing",
    ("passes/typemem.py", "Cannot take the size of incomplete"): "lookups give no incomplete "
    "struct: the unknown name (or incomplete member) is reported first",
    ("passes/typenames.py", "Cannot take the size of incomplete"): "sizeof_type() has no caller "
    "(the typecheck pass sizes types itself)",
    ("passes/typenames.py", "Cannot use an array type"): "no caller refuses array types",
    ("passes/typenames.py", "Cannot use type 'void' here"): "the grammar has no bare `void` "
    "type name",
}

# Errors that may have no place in the program, keyed by a regex matching the start of
# the message -> why.
UNLOCATED: dict[str, str] = {
    r"/\S+\.h:\d+: ": "an error inside an included header: the message names the header and "
    "its line",
    r"invalid --probe-filter regular expression": "about a command-line option, not the program",
    r"No probes matched the probe filter": "about a command-line option, not the program",
    r"unknown named parameter: --": "about a `-- --name=value` command-line argument, not the "
    "program",
}
