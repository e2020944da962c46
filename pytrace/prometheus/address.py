"""`[HOST:]PORT` as given to `--prometheus` and `.serve` (no dependencies)."""

from __future__ import annotations

import re

__all__ = ["DEFAULT_HOST", "AddressError", "parse_address"]

DEFAULT_HOST = "0.0.0.0"
_ADDRESS = re.compile(r"(?:(?P<host>\[[^\]]*\]|[^:\[\]]*):)?(?P<port>\d+)")


class AddressError(ValueError):
    """A `[HOST:]PORT` that cannot be parsed; str(e) is the one-line message."""


def parse_address(text: str) -> tuple[str, int]:
    """`9100` -> ('0.0.0.0', 9100) (every interface); `127.0.0.1:9100`; `[::1]:9100`;
    `localhost:0` (port 0: any free port)."""
    m = _ADDRESS.fullmatch(text.strip())
    if m is None or int(m.group("port")) > 65535:
        raise AddressError(f"invalid address '{text}': expected [HOST:]PORT, e.g. 9100 or "
                           "127.0.0.1:9100")
    host = (m.group("host") or "").strip("[]")
    return host or DEFAULT_HOST, int(m.group("port"))
