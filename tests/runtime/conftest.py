"""Every test in tests/runtime needs root and BPF: skip when unavailable, or fail when
PYTRACE_REQUIRE_KERNEL=1 (CI). Also a fixture counting this process's open fds."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import lru_cache

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # so tests can `import bpfasm`


@lru_cache(maxsize=1)
def kernel_unavailable() -> str | None:
    """Why real-kernel tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "not running as root"
    try:
        from pytrace.resources import MapKind, MapSpec
        from pytrace.runtime.features import check_privileges
        from pytrace.runtime.loader import create_map

        check_privileges()
        os.close(create_map(MapSpec("__probe", "probe", MapKind.ARRAY, 4, 8, 1)))
    except Exception as exc:  # any failure means: no usable BPF here
        return f"BPF is not usable: {exc}"
    return None


@pytest.fixture(autouse=True)
def _needs_kernel() -> None:
    reason = kernel_unavailable()
    if reason is None:
        return
    if os.environ.get("PYTRACE_REQUIRE_KERNEL") == "1":
        pytest.fail(f"PYTRACE_REQUIRE_KERNEL=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def count_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def open_fds() -> Callable[[], int]:
    """A function returning how many fds this process has open right now."""
    return count_fds
