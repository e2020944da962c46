"""fentry/fexit through the real command line: `--dry-run` compiles them to the end
(an ELF object with --emit-elf), bad programs get located errors, `-lv` lists
parameters. Attaching is tested in tests/runtime/test_fentry_refusal.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytrace.runtime.elf import parse_bpf_elf


def pytrace(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTRACE_NO_CACHE="1")
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=120, env=env)


PROGRAMS = [
    "fentry:tcp_sendmsg { @[args.sk->__sk_common.skc_family] = sum(args.size); }",
    "fexit:vfs_read { @ = hist(retval); @c[comm] = sum(args.count); }",
    'fexit:fget { printf("fd %d name %s\\n", args.fd, str(retval.f_path.dentry->d_name.name)); }',
    'kfunc:vfs_read { print(args); } kretfunc:vfs_read { @[tid] = args; }',
    "f:vfs_rea* { @[probe] = count(); } fr:vfs_write { @w = retval; }",
    'fentry:x86_pmu_stop { printf("pmu %s stop\\n", str(args.event.pmu.name)); }',
]


@pytest.mark.parametrize("text", PROGRAMS)
def test_dry_run_compiles_to_an_elf_object(text: str, tmp_path: Path) -> None:
    out = tmp_path / "prog.o"
    r = pytrace("--dry-run", "--emit-elf", str(out), "-e", text)
    assert r.returncode == 0, r.stderr
    assert "ERROR" not in r.stderr
    elf = parse_bpf_elf(out.read_bytes())
    assert any(name.startswith("probe_") for name in elf.programs)


@pytest.mark.parametrize(("text", "message", "col"), [
    ("fentry:vfs_read { @ = args.nosuch; }", "ERROR: Can't find function parameter nosuch",
     "stdin:1:23-34"),
    ("fentry:nosuch_pytrace_fn { }", "ERROR: No BTF found for vmlinux:nosuch_pytrace_fn",
     "stdin:1:1-25"),
    ("fexit:tcp_reset { @ = retval; }", "ERROR: retval is not available: tcp_reset returns "
     "void", "stdin:1:23-29"),
])
def test_bad_programs_get_located_errors(text: str, message: str, col: str) -> None:
    r = pytrace("--dry-run", "-e", text)
    assert r.returncode == 1
    first = r.stderr.splitlines()[0]
    assert first == f"{col}: {message}", r.stderr
    assert "Traceback" not in r.stderr


def test_verbose_listing_names_parameters() -> None:
    r = pytrace("-lv", "fentry:vfs_read")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["fentry:vfs_read", "    struct file * file",
                                     "    char * buf", "    size_t count", "    loff_t * pos",
                                     "    ssize_t retval"]
