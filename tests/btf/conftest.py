"""Tests of the BTF reader: `kernel` is the running kernel's BTF (skipped without it,
failing instead under PYTRACE_REQUIRE_KERNEL=1); the index cache goes to a temp dir."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # so tests can `import btfbuild`

from pytrace.btf import have_btf  # noqa: E402
from pytrace.btf.kernel import KernelBtf  # noqa: E402


@pytest.fixture(autouse=True)
def _cache_home(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", os.path.join(str(tmp_path), "cache"))


@pytest.fixture(scope="session")
def kernel() -> Iterator[KernelBtf]:
    if not have_btf():
        if os.environ.get("PYTRACE_REQUIRE_KERNEL") == "1":
            pytest.fail("PYTRACE_REQUIRE_KERNEL=1 but /sys/kernel/btf/vmlinux is missing")
        pytest.skip("the kernel has no BTF")
    yield KernelBtf()
