"""printf's `%gr`: GFP (get free pages) flags by name, as the kernel's `%pGg` prints
them. The bit of each flag comes from this kernel's BTF (the `___GFP_*_BIT`
enumerators, which vary with the kernel's configuration); composite names are tried
first, in the kernel's own order, then single flags; unnamed bits print as hex."""

from __future__ import annotations

from functools import cache

_SINGLE = ("DMA", "HIGHMEM", "DMA32", "MOVABLE", "RECLAIMABLE", "HIGH", "IO", "FS", "ZERO",
           "DIRECT_RECLAIM", "KSWAPD_RECLAIM", "WRITE", "NOWARN", "RETRY_MAYFAIL", "NOFAIL",
           "NORETRY", "MEMALLOC", "COMP", "NOMEMALLOC", "HARDWALL", "THISNODE", "ACCOUNT",
           "ZEROTAGS", "SKIP_ZERO", "SKIP_KASAN", "NOLOCKDEP", "NO_OBJ_EXT")
# the order the kernel prints them in (include/trace/events/mmflags.h)
_ORDER = ("GFP_TRANSHUGE", "GFP_TRANSHUGE_LIGHT", "GFP_HIGHUSER_MOVABLE", "GFP_HIGHUSER",
          "GFP_USER", "GFP_KERNEL_ACCOUNT", "GFP_KERNEL", "GFP_NOFS", "GFP_ATOMIC",
          "GFP_NOIO", "GFP_NOWAIT", "GFP_DMA", "__GFP_HIGHMEM", "GFP_DMA32", "__GFP_HIGH",
          "__GFP_IO", "__GFP_FS", "__GFP_NOWARN", "__GFP_RETRY_MAYFAIL", "__GFP_NOFAIL",
          "__GFP_NORETRY", "__GFP_COMP", "__GFP_ZERO", "__GFP_NOMEMALLOC", "__GFP_MEMALLOC",
          "__GFP_HARDWALL", "__GFP_THISNODE", "__GFP_RECLAIMABLE", "__GFP_MOVABLE",
          "__GFP_ACCOUNT", "__GFP_WRITE", "__GFP_RECLAIM", "__GFP_DIRECT_RECLAIM",
          "__GFP_KSWAPD_RECLAIM", "__GFP_ZEROTAGS", "__GFP_SKIP_ZERO", "__GFP_SKIP_KASAN",
          "__GFP_NOLOCKDEP", "__GFP_NO_OBJ_EXT")


def flag_masks(bits: dict[str, int]) -> list[tuple[str, int]]:
    """(name, mask) in print order, from {'IO': 6, ...} bit numbers."""
    f = {f"__GFP_{n}": 1 << b for n, b in bits.items()}
    g = f.get
    reclaim = g("__GFP_DIRECT_RECLAIM", 0) | g("__GFP_KSWAPD_RECLAIM", 0)
    f["__GFP_RECLAIM"] = reclaim
    f["GFP_ATOMIC"] = g("__GFP_HIGH", 0) | g("__GFP_KSWAPD_RECLAIM", 0)
    f["GFP_KERNEL"] = reclaim | g("__GFP_IO", 0) | g("__GFP_FS", 0)
    f["GFP_KERNEL_ACCOUNT"] = f["GFP_KERNEL"] | g("__GFP_ACCOUNT", 0)
    f["GFP_NOWAIT"] = g("__GFP_KSWAPD_RECLAIM", 0) | g("__GFP_NOWARN", 0)
    f["GFP_NOIO"] = reclaim
    f["GFP_NOFS"] = reclaim | g("__GFP_IO", 0)
    f["GFP_USER"] = f["GFP_KERNEL"] | g("__GFP_HARDWALL", 0)
    f["GFP_DMA"] = g("__GFP_DMA", 0)
    f["GFP_DMA32"] = g("__GFP_DMA32", 0)
    f["GFP_HIGHUSER"] = f["GFP_USER"] | g("__GFP_HIGHMEM", 0)
    f["GFP_HIGHUSER_MOVABLE"] = f["GFP_HIGHUSER"] | g("__GFP_MOVABLE", 0) | \
        g("__GFP_SKIP_KASAN", 0)
    light = (f["GFP_HIGHUSER_MOVABLE"] | g("__GFP_COMP", 0) | g("__GFP_NOMEMALLOC", 0)
             | g("__GFP_NOWARN", 0)) & ~reclaim
    f["GFP_TRANSHUGE_LIGHT"] = light
    f["GFP_TRANSHUGE"] = light | g("__GFP_DIRECT_RECLAIM", 0)
    return [(name, f[name]) for name in _ORDER if f.get(name)]


@cache
def kernel_masks() -> tuple[tuple[str, int], ...]:
    from pytrace.kernelinfo import enumerator

    bits = {}
    for name in _SINGLE:
        value = enumerator(f"___GFP_{name}_BIT")
        if value is not None:
            bits[name] = value
    return tuple(flag_masks(bits))


def format_gfp(flags: int, masks: tuple[tuple[str, int], ...] | list[tuple[str, int]]) -> str:
    if flags == 0:
        return "none"
    names = []
    for name, mask in masks:
        if flags & mask == mask:
            names.append(name)
            flags &= ~mask
    if flags:
        names.append(f"0x{flags:x}")
    return "|".join(names)


def gfp_names(flags: int) -> str:
    """GFP flags of this kernel by name (`GFP_KERNEL|__GFP_ZERO`)."""
    return format_gfp(flags, kernel_masks())
