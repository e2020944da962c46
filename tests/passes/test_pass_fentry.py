"""Type checking of fentry/fexit probes: `args.NAME` and `retval` typed from the kernel
function's BTF prototype, `args` as a whole, and located errors."""

from __future__ import annotations

from pytrace.types import IntT, PtrT, StrT, StructT


def _vars(cp):  # type: ignore[no-untyped-def]
    return {name: t for (_, name), t in cp.variables.items()}


def test_parameters_have_their_real_types(checked):
    cp = checked("fentry:tcp_sendmsg { $sk = args.sk; $n = args.size; "
                 "$fam = args.sk->__sk_common.skc_family; }")
    v = _vars(cp)
    assert isinstance(v["sk"], PtrT) and v["sk"].kernel
    assert v["sk"].pointee == StructT("struct sock")
    assert v["n"] == IntT(64, False)  # size_t
    assert v["fam"] == IntT(16, False)  # unsigned short, through the auto-dereference


def test_fexit_retval_has_the_return_type(checked):
    cp = checked("fexit:vfs_read { $r = retval; $c = args.count; }")
    assert _vars(cp)["r"] == IntT(64, True)  # ssize_t
    cp = checked("fexit:fget { $f = retval; $n = str(retval.f_path.dentry->d_name.name); }")
    v = _vars(cp)
    assert isinstance(v["f"], PtrT) and v["f"].pointee == StructT("struct file")
    assert isinstance(v["n"], StrT)


def test_kfunc_aliases_type_alike(checked):
    for probe in ("f:vfs_read", "kfunc:vfs_read", "fr:vfs_read", "kretfunc:vfs_read"):
        assert _vars(checked(f"{probe} {{ $c = args.count; }}"))["c"] == IntT(64, False)


def test_args_as_a_whole_is_a_struct(checked):
    cp = checked("fentry:vfs_read { $a = args; print(args); }")
    a = _vars(cp)["a"]
    assert isinstance(a, StructT) and a.field_names() == ["file", "buf", "count", "pos"]


def test_wildcard_probes_share_parameters(checked):
    cp = checked("fentry:vfs_read,fentry:vfs_write { $c = args.count; }")
    assert _vars(cp)["c"] == IntT(64, False)


def test_unknown_parameter_is_located(errors):
    assert errors("fentry:vfs_read { @ = args.nosuch; }") == [
        ("Can't find function parameter nosuch", (1, 23, 34))]


def test_unknown_function_is_located(errors):
    assert errors("fentry:nosuch_pytrace_fn { }") == [
        ("No BTF found for vmlinux:nosuch_pytrace_fn", (1, 1, 25))]


def test_retval_of_a_void_function(errors):
    assert errors("fexit:tcp_reset { @ = retval; }")[0][0] == \
        "retval is not available: tcp_reset returns void"


def test_retval_is_not_in_fentry(errors):
    assert "retval builtin can not be used with 'fentry'" in \
        errors("fentry:vfs_read { @ = retval; }")[0][0]
