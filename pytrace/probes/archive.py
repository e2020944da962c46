"""Binaries inside zip archives (`app.apk!/lib/x86_64/libfoo.so`).

The loader (Android's, say) maps an uncompressed member straight from the archive, so
the uprobe's file is the archive itself and every offset is the member's data offset
plus the offset inside the ELF. zipfile reads the central directory; the member's
local header (whose name and extra lengths may differ from the central one) gives
where its data starts.
"""

from __future__ import annotations

import struct
import zipfile

from pytrace.probes.base import ProbeError

SEPARATOR = "!/"
LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... name length, extra length
LOCAL_MAGIC = b"PK\x03\x04"


def split(target: str) -> tuple[str, str] | None:
    """(archive path, member name) for `ARCHIVE!/MEMBER`, else None."""
    archive, sep, member = target.partition(SEPARATOR)
    if not sep or not archive or not member:
        return None
    return archive, member


def member_offset(archive: str, member: str) -> int:
    """Where the stored (uncompressed) member's bytes start inside the archive."""
    try:
        with zipfile.ZipFile(archive) as zf:
            info = zf.getinfo(member)
    except KeyError:
        raise ProbeError(f"'{member}' is not in the archive '{archive}'") from None
    except (OSError, zipfile.BadZipFile) as exc:
        raise ProbeError(f"cannot read the archive '{archive}': {exc}") from None
    if info.compress_type != zipfile.ZIP_STORED:
        raise ProbeError(f"'{member}' is compressed in '{archive}': only uncompressed "
                         "(stored) members are mapped from an archive and can be probed",
                         "store it uncompressed (zip -0)")
    try:
        with open(archive, "rb") as f:
            f.seek(info.header_offset)
            magic, name_len, extra_len = LOCAL_HEADER.unpack(f.read(LOCAL_HEADER.size))
    except (OSError, struct.error) as exc:
        raise ProbeError(f"cannot read the archive '{archive}': {exc}") from None
    if magic != LOCAL_MAGIC:
        raise ProbeError(f"cannot read the archive '{archive}': bad local header of '{member}'")
    return int(info.header_offset) + LOCAL_HEADER.size + name_len + extra_len
