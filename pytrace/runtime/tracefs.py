"""Where tracefs lives (mounting it when root and needed) and tracepoint id lookup."""

from __future__ import annotations

import os
from functools import lru_cache

from pytrace.runtime.errors import FeatureUnavailable, PrivilegeError
from pytrace.runtime.mounts import mount

TRACEFS = "/sys/kernel/tracing"
DEBUGFS_TRACING = "/sys/kernel/debug/tracing"


def _mounted(path: str) -> bool:
    return os.path.isdir(os.path.join(path, "events"))


def _mount_tracefs(path: str) -> None:
    err = mount("tracefs", path)
    if err:
        raise FeatureUnavailable(f"tracefs is not mounted at {path} and mounting it failed: "
                                 f"{os.strerror(err)}")


@lru_cache(maxsize=1)
def tracefs_root() -> str:
    """The tracefs directory; mount it at /sys/kernel/tracing when root and missing."""
    for path in (TRACEFS, DEBUGFS_TRACING):
        if _mounted(path):
            return path
    if os.geteuid() != 0:
        if os.path.isdir(TRACEFS) and not os.access(TRACEFS, os.R_OK | os.X_OK):
            raise PrivilegeError(f"cannot read tracefs at {TRACEFS}: permission denied "
                                 "(tracing needs root)")
        raise PrivilegeError(f"tracefs is not mounted at {TRACEFS} (mount it as root: "
                             f"mount -t tracefs nodev {TRACEFS})")
    if not os.path.isdir(TRACEFS):
        raise FeatureUnavailable(f"tracefs is not available: {TRACEFS} does not exist")
    _mount_tracefs(TRACEFS)
    if not _mounted(TRACEFS):
        raise FeatureUnavailable(f"tracefs mounted at {TRACEFS} has no events directory")
    return TRACEFS


def event_dir(category: str, event: str) -> str:
    """Directory of one tracepoint under tracefs/events."""
    return os.path.join(tracefs_root(), "events", category, event)


def tracepoint_id(category: str, event: str) -> int:
    """The perf config id of tracepoint CATEGORY:EVENT."""
    path = os.path.join(event_dir(category, event), "id")
    try:
        with open(path, "rb") as f:
            return int(f.read())
    except FileNotFoundError:
        raise FeatureUnavailable(f"tracepoint {category}:{event} does not exist") from None
    except PermissionError:
        raise PrivilegeError(f"cannot read {path}: permission denied (run as root)") from None
    except (OSError, ValueError) as exc:
        raise FeatureUnavailable(f"cannot read the id of tracepoint {category}:{event}: "
                                 f"{exc}") from None
