"""printf/system/cat format checks."""

from __future__ import annotations


def test_valid_formats(checked):
    checked('t:syscalls:sys_enter_openat { printf("%s %d %u %x %c %p %-5s %05d %%\\n", comm,'
            ' pid, args.flags, tid, 65, curtask, str(args.filename), 1); }')
    checked('BEGIN { printf("%s %s %s\\n", probe, kstack, ksym(1)); }')


def test_argument_count(errors):
    assert errors('BEGIN { printf("%d\\n"); exit(); }') == [
        ("printf: Not enough arguments for format string (0 supplied, 1 expected)",
         (1, 9, 23))]
    assert errors('BEGIN { printf("%d\\n", 1, 2); exit(); }') == [
        ("printf: Too many arguments for format string (2 supplied, 1 expected)",
         (1, 9, 29))]


def test_argument_types(errors):
    assert errors('BEGIN { printf("%r\\n", "ab"); }') == [
        ("printf: %r specifier expects a value of type buffer (string supplied)", (1, 9, 29))]
    assert errors('BEGIN { printf("%d\\n", "a"); }')[0][0] == (
        "printf: %d specifier expects a value of type integer (string supplied)")
    assert errors('BEGIN { printf("%x\\n", (1, 2)); }')[0][0] == (
        "printf: %x specifier expects a value of type integer (tuple supplied)")
    assert errors('BEGIN { printf("%r\\n", 5); }')[0][0] == (
        "printf: %r specifier expects a value of type buffer (integer supplied)")
    assert len(errors('BEGIN { printf("%d %r\\n", "a", 1); }')) == 2


def test_format_must_be_literal(errors, checked):
    assert errors("BEGIN { printf(comm); }") == [
        ("printf() expects a string literal (string provided)", (1, 9, 21))]
    checked('#define FMT "%d\\n"\nBEGIN { printf(FMT, 1); }')


def test_bad_format(errors):
    msg = errors('BEGIN { printf("%k\\n", 1); }')[0][0]
    assert msg.startswith("printf: ")


def test_unimplemented_functions_are_refused_where_they_are_written(errors):
    assert errors('fentry:vfs_read { skboutput("f.pcap", 0, 1, 0); }') == [
        ("skboutput() is not implemented by pytrace", (1, 19, 28))]


def test_s_prints_any_value(checked):
    checked('BEGIN { printf("%s %s %s\\n", 5, (1, "a"), comm); }')
