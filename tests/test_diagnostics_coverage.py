"""Every diagnostic pytrace can produce at compile time is produced by some program of
tests/diagnostics_corpus.py, and every program there ends in located diagnostics: never
an internal error, a Python exception, an LLVM abort or an error without a place.

The sites come from tests/diagnostic_sites.py (an `ast` scan of pytrace/), so a new
diagnostic without a corpus case (or an UNREACHABLE entry saying why) fails here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from diagnostic_sites import Site, scan
from diagnostics_corpus import CORPUS, PLACEHOLDERS, UNLOCATED, UNREACHABLE, Case

from pytrace.diagnostics import CompileError, Diagnostic, Severity, render_all
from pytrace.driver import check_source, generate
from pytrace.options import Options
from pytrace.source import Source

REPO = Path(__file__).resolve().parent.parent

# A program whose stapsdt notes have operands pytrace cannot read (written as the
# assembler directives <sys/sdt.h> would emit, so no systemtap headers are needed).
USDT_SOURCE = r"""
#define NOTE(name, args) __asm__ volatile("990: nop\n" \
    ".pushsection .note.stapsdt,\"?\",\"note\"\n.balign 4\n" \
    ".4byte 992f-991f, 994f-993f, 3\n991: .asciz \"stapsdt\"\n992: .balign 4\n" \
    "993: .8byte 990b\n.8byte 0\n.8byte 0\n.asciz \"t\"\n.asciz \"" name "\"\n" \
    ".asciz \"" args "\"\n994: .balign 4\n.popsection\n")
int main(void) {
    NOTE("badsize", "3@%rax");
    NOTE("badreg", "8@%xmm0");
    NOTE("badmemreg", "8@8(%xmm1)");
    NOTE("badmode", "8@(%rax,%rbx,8)");
    NOTE("badconst", "8@$some_symbol");
    return 0;
}
"""

# A -g binary for DWARF-based sites: a sized function with a floating point parameter,
# and one usdt probe name under two providers.
DWARF_SOURCE = r"""#include <sys/sdt.h>
volatile double total;
__attribute__((noinline)) void add(int x, double ratio) {
    total += x * ratio;
    DTRACE_PROBE(p1, tick);
    DTRACE_PROBE(p2, tick);
}
int main(void) { add(1, 2.0); return 0; }
"""


def _garbled(src: Path, dest: Path, section: str) -> str:
    """A copy of an ELF file whose `section` is all 0xff bytes."""
    from elftools.elf.elffile import ELFFile

    data = bytearray(src.read_bytes())
    with open(src, "rb") as f:
        sec = ELFFile(f).get_section_by_name(section)
        start, size = sec["sh_offset"], sec["sh_size"]
    data[start:start + size] = b"\xff" * size
    dest.write_bytes(bytes(data))
    dest.chmod(0o755)
    return str(dest)


def _zips(d: Path, member: bytes) -> dict[str, str]:
    """Archives for the zip sites: stored + compressed members, a local header past the
    end of the file, a broken local header."""
    import zipfile

    good = d / "good.zip"
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr(zipfile.ZipInfo("stored.so"), member, compress_type=zipfile.ZIP_STORED)
        zf.writestr(zipfile.ZipInfo("packed.so"), member, compress_type=zipfile.ZIP_DEFLATED)
    data = good.read_bytes()
    central = data.index(b"PK\x01\x02")
    short = bytearray(data)
    short[central + 42:central + 46] = (len(data) - 2).to_bytes(4, "little")
    (d / "short.zip").write_bytes(bytes(short))
    broken = bytearray(data)
    broken[0:4] = b"PK\x09\x09"
    (d / "badlocal.zip").write_bytes(bytes(broken))
    return {"zip": str(good), "zip_short": str(d / "short.zip"),
            "zip_badlocal": str(d / "badlocal.zip")}


def _plain_program() -> int:
    """A loaded do-nothing program without BTF (an fd; -1 without BPF here): the id of
    a running program that fentry:bpf cannot attach to."""
    import struct as st

    from pytrace.runtime import syscalls as sc

    insns, lic = sc.Buffer(bytes.fromhex("b700000000000000" "9500000000000000")), sc.cstr("GPL")
    attr = sc.new_attr()
    st.pack_into("<IIQQ", attr, 0, 17, 2, insns.addr, lic.addr)  # RAW_TRACEPOINT
    fd, _err = sc.bpf_errno(sc.PROG_LOAD, attr)
    return fd


def _prog_id(fd: int) -> str:
    import struct as st

    from pytrace.runtime import syscalls as sc

    return str(st.unpack_from("<I", sc.obj_info(fd), 4)[0]) if fd >= 0 else ""


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory,
           request: pytest.FixtureRequest) -> dict[str, str]:
    """What the corpus placeholders stand for."""
    plain = _plain_program()
    if plain >= 0:
        request.addfinalizer(lambda: os.close(plain))
    d = tmp_path_factory.mktemp("diagnostics")
    not_elf = d / "not_elf"
    not_elf.write_text("#!/bin/sh\necho not an ELF file\n")
    not_elf.chmod(0o755)
    elf = bytearray(Path(sys.executable).resolve().read_bytes())
    elf[39] = 0xA2  # the top byte of e_phoff: program headers far past the end of the file
    bad_elf = d / "bad_elf"
    bad_elf.write_bytes(bytes(elf))
    bad_elf.chmod(0o755)
    err_h = d / "err.h"
    err_h.write_text("#error this header refuses\n")
    imports = d / "imports"
    (imports / "ww").mkdir(parents=True)
    (imports / "cfg.bt").write_text("config = { max_map_keys = 2 }\nBEGIN { }\n")
    (imports / "bad.bt").write_text("BEGIN { @ = nosuch; }\n")
    (imports / "x.bpf.c").write_text("")
    (imports / "x.txt").write_text("")
    (imports / "ww" / "a.bt").write_text("BEGIN { }\n")
    (imports / "ww").chmod(0o777)
    out = {"not_elf": str(not_elf), "bad_elf": str(bad_elf), "nowhere": str(d / "nowhere"),
           "err_h": str(err_h), "import_dir": str(imports), "usdt_bin": "", "arm_elf": "",
           "dwarf_bin": "", "bad_dwarf": "", "bad_usdt": "", "plain_prog": _prog_id(plain)}
    if shutil.which("gcc"):
        (d / "usdt.c").write_text(USDT_SOURCE)
        r = subprocess.run(["gcc", "-o", str(d / "usdt"), str(d / "usdt.c")],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        out["usdt_bin"] = str(d / "usdt")
        arm = bytearray((d / "usdt").read_bytes())
        arm[18:20] = (183).to_bytes(2, "little")  # e_machine: EM_AARCH64
        (d / "arm_elf").write_bytes(bytes(arm))
        (d / "arm_elf").chmod(0o755)
        out["arm_elf"] = str(d / "arm_elf")
        (d / "dwarf.c").write_text(DWARF_SOURCE)
        r = subprocess.run(["gcc", "-g", "-O1", "-o", str(d / "dwarf"), str(d / "dwarf.c")],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        out["dwarf_bin"] = str(d / "dwarf")
        out["bad_dwarf"] = _garbled(d / "dwarf", d / "bad_dwarf", ".debug_line")
        usdt = bytearray((d / "usdt").read_bytes())
        usdt[39] = 0xA2  # e_phoff far past the end, as bad_elf
        (d / "bad_usdt").write_bytes(bytes(usdt))
        (d / "bad_usdt").chmod(0o755)
        out["bad_usdt"] = str(d / "bad_usdt")
    out.update(_zips(d, (d / "usdt").read_bytes() if out["usdt_bin"] else b"\x7fELF"))
    return out


def fill(text: str, places: dict[str, str]) -> str:
    for key, value in places.items():
        text = text.replace("{" + key + "}", value)
    return text


def compile_case(case: Case, places: dict[str, str]) -> tuple[Source, list[Diagnostic]]:
    """The diagnostics of a case, through the whole pipeline (what --dry-run does)."""
    source = Source("stdin", fill(case.text, places))
    options = Options(params=list(case.params), pid=case.pid, has_child=case.has_child,
                      unsafe=case.unsafe, probe_filter=case.probe_filter,
                      named_params=dict(case.named))
    if case.tracefs is not None:
        options.tracefs = fill(case.tracefs, places)
    try:
        checked = check_source(source, options)
        generate(checked)
        return source, [d for d in checked.diagnostics if not d.is_error]  # warnings
    except CompileError as exc:
        return source, exc.diagnostics
    except Exception as exc:  # noqa: BLE001 - a bug: reported per case by the tests below
        return source, [Diagnostic(Severity.ERROR, f"internal: {type(exc).__name__}: {exc}")]


@pytest.fixture(scope="module")
def produced(places: dict[str, str]) -> dict[Case, tuple[Source, list[Diagnostic]]]:
    out = {}
    for case in CORPUS:
        if any("{" + k + "}" in case.text for k in ("usdt_bin", "arm_elf", "dwarf_bin", "bad_dwarf", "bad_usdt")) \
                and not places["usdt_bin"]:
            continue  # no C compiler: those sites are reported by the coverage test
        if "{plain_prog}" in case.text and not places["plain_prog"]:
            continue  # no BPF here: the coverage test reports the site
        out[case] = compile_case(case, places)
    return out


def _listed(site: Site, key: tuple[str, str]) -> bool:
    file, prefix = key
    if prefix.endswith("$"):
        return site.file == file and site.text == prefix[:-1]
    return site.file == file and site.text.startswith(prefix)


def _unreachable(site: Site) -> bool:
    return any(_listed(site, key) for key in UNREACHABLE)


def test_the_scan_finds_the_diagnostic_sites() -> None:
    sites = scan()
    files = {s.file for s in sites}
    assert {"parser.py", "passes/typeexpr.py", "builtins/aggregations.py", "probes/timed.py",
            "codegen/emitter.py"} <= files
    assert any(s.matches("Undefined map: @x") for s in sites)
    assert not any(s.file.startswith("runtime/") for s in sites)


def test_site_matchers() -> None:
    site = Site("x.py", 1, ("Unknown function: ", "\0"))
    assert site.matches("Unknown function: foo")
    assert not site.matches("Unknown identifier: 'foo'")
    nested = Site("x.py", 1, ("invalid format specifier: ", "\0"))
    assert nested.matches("printf: invalid format specifier: %Q")


def test_every_case_fails_with_its_message(
        produced: dict[Case, tuple[Source, list[Diagnostic]]], places: dict[str, str]) -> None:
    wrong = []
    for case, (_source, diags) in produced.items():
        messages = [d.message for d in diags]
        if not any(fill(case.expect, places) in m for m in messages):
            wrong.append(f"{case.text!r}: expected {case.expect!r}, got {messages}")
    assert not wrong, "\n".join(wrong)


def test_every_site_is_reached(produced: dict[Case, tuple[Source, list[Diagnostic]]]) -> None:
    messages = [d.message for _, diags in produced.values() for d in diags]
    missing, needless = [], []
    for site in scan():
        reached = any(site.matches(m) for m in messages)
        if _unreachable(site):
            if reached:
                needless.append(str(site))
        elif not reached:
            missing.append(str(site))
    assert not missing, "diagnostics no corpus case produces (add a case to " \
        "tests/diagnostics_corpus.py, or an UNREACHABLE entry with the reason):\n" + \
        "\n".join(missing)
    assert not needless, "UNREACHABLE entries that a case does reach:\n" + "\n".join(needless)


def test_every_unreachable_entry_names_a_site() -> None:
    sites = scan()
    stale = [key for key in UNREACHABLE if not any(_listed(s, key) for s in sites)]
    assert stale == []


def test_errors_are_located_and_never_internal(
        produced: dict[Case, tuple[Source, list[Diagnostic]]]) -> None:
    bad = []
    for case, (source, diags) in produced.items():
        for d in diags:
            located = d.span is not None and d.span.line > 0
            if not located and not any(re.match(p, d.message) for p in UNLOCATED):
                bad.append(f"{case.text!r}: unlocated {d.message!r}")
            if "internal" in d.message.lower() or "Traceback" in d.message:
                bad.append(f"{case.text!r}: {d.message!r}")
        text = render_all(diags, source)
        assert text.count("ERROR: ") == sum(d.is_error for d in diags)
    assert not bad, "\n".join(bad)


SAMPLE = [c for c in CORPUS if not c.tracefs and not c.params and not c.probe_filter
          and not c.named and not c.unsafe and not c.has_child and c.pid is None
          and c.text.isascii() and not any("{" + p + "}" in c.text for p in PLACEHOLDERS)][::36]


def test_dry_run_prints_the_diagnostic() -> None:
    """`pytrace --dry-run -e PROGRAM` (a sample of the corpus's errors, run side by side):
    exit status 1 and exactly the rendered diagnostics on stderr."""
    env = dict(os.environ, PYTRACE_NO_CACHE="1")
    sample = [(c, compile_case(c, {})) for c in SAMPLE]
    sample = [(c, result) for c, result in sample if any(d.is_error for d in result[1])]
    runs = [(case, result, subprocess.Popen([sys.executable, "-m", "pytrace", "--dry-run", "-e", case.text],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    cwd=REPO, env=env)) for case, result in sample]
    bad = []
    for case, (source, diags), proc in runs:
        out, err = proc.communicate(timeout=120)
        if proc.returncode != 1 or err != render_all(diags, source) or out \
                or "Traceback" in err or case.expect not in err:
            bad.append(f"{case.text!r}: exit {proc.returncode}, stderr {err!r}")
    assert len(runs) >= 6
    assert not bad, "\n".join(bad)
