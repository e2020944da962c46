"""`-l`/`-lv` of fentry and fexit: kernel functions that BTF describes, listed with
their parameters and `TYPE retval` as bpftrace lists them."""

from __future__ import annotations

from pytrace.listing import listing


def test_verbose_lists_parameters_then_retval() -> None:
    assert listing("fentry:vfs_read", verbose=True) == [
        "fentry:vfs_read",
        "    struct file * file",
        "    char * buf",
        "    size_t count",
        "    loff_t * pos",
        "    ssize_t retval",
    ]


def test_void_function_has_no_retval_line() -> None:
    assert listing("fexit:tcp_reset", verbose=True) == [
        "fexit:tcp_reset", "    struct sock * sk", "    struct sk_buff * skb"]


def test_aliases_and_several_patterns() -> None:
    assert listing("kretfunc:fget,f:fget", verbose=True) == [
        "fexit:fget", "    unsigned int fd", "    struct file * retval",
        "fentry:fget", "    unsigned int fd", "    struct file * retval"]


def test_wildcards_match_functions_with_btf() -> None:
    names = listing("fentry:vfs_rea*")
    assert "fentry:vfs_read" in names and "fentry:vfs_readv" in names
    assert all(n.startswith("fentry:vfs_rea") for n in names)
    assert names == sorted(names)


def test_vmlinux_module_is_shown_bare() -> None:
    assert listing("fentry:vmlinux:vfs_read") == ["fentry:vfs_read"]


def test_unknown_function_lists_nothing() -> None:
    assert listing("fentry:nosuch_pytrace_fn", verbose=True) == []
    assert listing("fexit:nosuchmod:vfs_read") == []
