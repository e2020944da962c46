"""LLVM runs in a forked child: an abort inside LLVM becomes LLVMFailure naming the
probe function and LLVM's message, and pytrace itself lives on."""

from __future__ import annotations

import os
import signal

import pytest

from pytrace.codegen import llvm

GOOD = '''
define i64 @"prog_0"(i8* %ctx) section "probe_0" {
entry:
  ret i64 0
}
'''

BIG_STACK = GOOD + '''
define i64 @"prog_1"(i8* %ctx) section "probe_1" {
entry:
  %buf = alloca [100 x i64]
  %p = bitcast [100 x i64]* %buf to i8*
  %f = inttoptr i64 6 to i64 (i8*, i32)*
  %r = call i64 %f(i8* %p, i32 800)
  ret i64 %r
}
'''


def long_jump(stores: int = 34000) -> str:
    """prog_2 branches over more instructions than a 16-bit jump offset reaches."""
    body = "\n".join(f"  store volatile i64 {i}, i64* %p" for i in range(stores))
    return GOOD + f'''
define i64 @"prog_1"(i8* %ctx) section "probe_1" {{
entry:
  ret i64 1
}}

define i64 @"prog_2"(i8* %ctx) section "probe_2" {{
entry:
  %buf = alloca i64
  %c = icmp eq i8* %ctx, null
  br i1 %c, label %big, label %done
big:
{body.replace("%p", "%buf")}
  br label %done
done:
  ret i64 0
}}
'''


def test_good_module_compiles() -> None:
    assert llvm.emit_object(GOOD).startswith(b"\x7fELF")
    assert "prog_0" in llvm.emit_assembly(GOOD)
    assert "define" in llvm.optimize(GOOD)


def test_stack_limit_is_a_failure_naming_the_function() -> None:
    with pytest.raises(llvm.LLVMFailure) as exc:
        llvm.emit_object(BIG_STACK)
    assert exc.value.function == "prog_1" and exc.value.probe_index == 1
    assert "stack limit" in exc.value.message


def _aborts_on(marker: str):  # type: ignore[no-untyped-def]
    """An object stage that dies like LLVM does when the IR holds `marker`."""
    real = llvm._object_bytes

    def stage(ir_text: str) -> bytes:
        if marker in ir_text:
            os.write(2, b"LLVM ERROR: Branch target out of insn range\n")
            os.abort()
        return real(ir_text)

    return stage


def test_abort_in_llvm_does_not_kill_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llvm, "_object_bytes", _aborts_on("ret i64 1"))
    with pytest.raises(llvm.LLVMFailure) as exc:
        llvm.emit_object(long_jump(10))
    assert exc.value.message == "Branch target out of insn range"
    assert exc.value.function == "prog_1"  # found by bisection over prog_0..prog_2


def test_debug_stages_are_isolated_too() -> None:
    with pytest.raises(llvm.LLVMFailure, match="stack limit"):
        llvm.emit_assembly(BIG_STACK)
    assert "prog_1" in llvm.optimize(BIG_STACK)  # the optimiser alone accepts it


def test_llvm_error_line_and_signals_are_reported() -> None:
    def abort() -> bytes:
        os.write(2, b"some noise\nLLVM ERROR: it broke\nStack dump:\n")
        os.abort()

    with pytest.raises(llvm.LLVMFailure, match="it broke"):
        llvm.isolated(abort)

    def segv() -> bytes:
        os.kill(os.getpid(), signal.SIGSEGV)
        return b""

    with pytest.raises(llvm.LLVMFailure, match="SIGSEGV"):
        llvm.isolated(segv)


def test_python_errors_stay_runtime_errors() -> None:
    with pytest.raises(RuntimeError, match="parsing error"):
        llvm.emit_object("this is not IR")


def test_large_results_come_back_whole() -> None:
    data = os.urandom(5 << 20)
    assert llvm.isolated(lambda: data) == data


def test_no_child_is_left_behind() -> None:
    llvm.emit_object(GOOD)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_keep_functions() -> None:
    text = long_jump(2)
    assert llvm.probe_functions(text) == ["prog_0", "prog_1", "prog_2"]
    kept = llvm.keep_functions(text, {"prog_1"})
    assert llvm.probe_functions(kept) == ["prog_1"]
    assert llvm.emit_object(kept).startswith(b"\x7fELF")


def test_driver_reports_the_probe_as_a_located_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytrace.diagnostics import CompileError, render_all
    from pytrace.driver import check_source, generate
    from pytrace.options import Options
    from pytrace.source import Source

    text = 'BEGIN { printf("a\\n"); }\ninterval:s:1 { @x = 12345678; }'
    monkeypatch.setattr(llvm, "_object_bytes", _aborts_on("12345678"))
    with pytest.raises(CompileError) as exc:
        generate(check_source(Source("stdin", text), Options()))
    out = render_all(exc.value.diagnostics, exc.value.source)
    lines = out.splitlines()
    assert lines[0] == ("stdin:2:1-13: ERROR: LLVM cannot compile probe interval:s:1: "
                        "Branch target out of insn range")
    assert lines[1] == "interval:s:1 { @x = 12345678; }" and lines[2] == "~" * 12
    assert lines[3].startswith("HINT: ")
