"""The type model shared by the passes, codegen, runtime decoding and output.

Layout rule (one rule everywhere: map keys, map values, ring-buffer records):
every integer occupies 8 bytes (sign- or zero-extended by its type), every
component of a composite starts at an 8-byte aligned offset, and sizes are rounded
up to 8. Padding is always zero, so equal keys are equal bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_STRLEN = 64


def align8(n: int) -> int:
    return (n + 7) & ~7


class Type:
    """Base of all types. Types are frozen dataclasses and compare by value."""

    __slots__ = ()

    @property
    def size(self) -> int:
        """Bytes this type occupies in a key, value or record (multiple of 8)."""
        raise NotImplementedError

    @property
    def is_integer(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class IntT(Type):
    bits: int = 64
    signed: bool = True

    @property
    def size(self) -> int:
        return 8

    @property
    def is_integer(self) -> bool:
        return True

    def __str__(self) -> str:
        return f"{'' if self.signed else 'u'}int{self.bits}"


@dataclass(frozen=True, slots=True)
class BoolT(IntT):
    """C `bool`/`_Bool`: one byte in memory, printed `true`/`false`."""

    bits: int = 8
    signed: bool = False

    def __str__(self) -> str:
        return "bool"


@dataclass(frozen=True, slots=True)
class StrT(Type):
    """A NUL-padded string buffer of `length` bytes (including the NUL)."""

    length: int = DEFAULT_STRLEN

    @property
    def size(self) -> int:
        return align8(self.length)

    def __str__(self) -> str:
        return f"string[{self.length}]"


@dataclass(frozen=True, slots=True)
class BufT(Type):
    """buf(ptr, len): a u32 length followed by `length` bytes."""

    length: int

    @property
    def size(self) -> int:
        return align8(8 + self.length)

    def __str__(self) -> str:
        return f"buffer[{self.length}]"


@dataclass(frozen=True, slots=True)
class TupleT(Type):
    elems: tuple[Type, ...]

    @property
    def size(self) -> int:
        return sum(e.size for e in self.elems)

    def offsets(self) -> list[int]:
        out, off = [], 0
        for e in self.elems:
            out.append(off)
            off += e.size
        return out

    def __str__(self) -> str:
        return "(" + ",".join(str(e) for e in self.elems) + ")"


@dataclass(frozen=True, slots=True)
class RecordT(Type):
    fields: tuple[tuple[str, Type], ...]

    @property
    def size(self) -> int:
        return sum(t.size for _, t in self.fields)

    def __str__(self) -> str:
        return "(" + ",".join(f"{n}={t}" for n, t in self.fields) + ")"


@dataclass(frozen=True, slots=True)
class PtrT(Type):
    """A pointer; `pointee` None means void*. user=True for user-space memory."""

    pointee: Type | None = None
    user: bool = False
    ctype: str = ""  # the C spelling, e.g. 'const char *'

    @property
    def size(self) -> int:
        return 8

    @property
    def is_integer(self) -> bool:
        return True  # pointers take part in integer arithmetic and print as ints

    def __str__(self) -> str:
        return self.ctype or f"{self.pointee or 'void'} *"


@dataclass(frozen=True, slots=True)
class StructT(Type):
    """A C struct known by name (from tracepoint formats, BTF or the preamble)."""

    name: str
    byte_size: int = 0
    fields: tuple[tuple[str, Type, int], ...] = ()  # (name, type, offset)

    @property
    def size(self) -> int:
        return align8(self.byte_size)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class ArrayT(Type):
    elem: Type
    count: int

    @property
    def size(self) -> int:
        return self.elem.size * self.count

    def __str__(self) -> str:
        return f"{self.elem}[{self.count}]"


@dataclass(frozen=True, slots=True)
class StackT(Type):
    """kstack / ustack: stored as a stack id (8 bytes) plus pid for ustack."""

    kernel: bool
    limit: int = 127
    mode: str = "bpftrace"  # 'bpftrace' | 'perf' | 'raw'

    @property
    def size(self) -> int:
        return 16

    def __str__(self) -> str:
        return "kstack" if self.kernel else "ustack"


@dataclass(frozen=True, slots=True)
class SymT(Type):
    """ksym()/usym()/func on uprobes: an address resolved to a name in userspace."""

    kernel: bool

    @property
    def size(self) -> int:
        return 16  # address, pid

    def __str__(self) -> str:
        return "ksym" if self.kernel else "usym"


@dataclass(frozen=True, slots=True)
class ProbeNameT(Type):
    """The `probe` builtin: an index into Resources.probe_names, resolved in userspace."""

    @property
    def size(self) -> int:
        return 8

    def __str__(self) -> str:
        return "probe"


@dataclass(frozen=True, slots=True)
class UserFormatT(Type):
    """A value stored raw in BPF and rendered as a string in userspace
    (pytrace/userformat.py has one renderer per kind).

    kind: 'strftime' (u64 ns since boot; fmt in `fmt`), 'inet' (ntop: u64 family + 16
    address bytes), 'macaddr' (6 bytes), 'strerror' (u64 errno), 'cgroup_path' (u64
    id; the filter in `fmt`), 'username' (u64 uid), 'signal_name' (u64 signal number),
    'syscall_name' (u64 syscall number).
    """

    kind: str
    payload: int = 8
    fmt: str = ""

    @property
    def size(self) -> int:
        return (self.payload + 7) & ~7

    @property
    def scalar(self) -> bool:
        """Held in one register (every kind but ntop's family + address)."""
        return self.payload <= 8

    def __str__(self) -> str:
        return {"strftime": "timestamp", "cgroup_path": "cgroup_path_t",
                "macaddr": "macaddr_t"}.get(self.kind, self.kind if self.kind == "inet"
                                            else "string")


@dataclass(frozen=True, slots=True)
class VoidT(Type):
    @property
    def size(self) -> int:
        return 0

    def __str__(self) -> str:
        return "none"


# ------------------------------------------------------------- map value types
# The per-CPU in-map layouts (all little-endian, 8-byte slots):
#   count:   u64 count
#   sum:     i64/u64 total
#   min/max: i64/u64 value, u64 set-flag (0 = no value on that CPU)
#   avg:     i64 total, u64 count
#   stats:   i64 total, u64 count
#   hist / lhist: map key = user key bytes + u64 bucket index; value u64 count
# Userspace folds the per-CPU values (sum, min, max, sum of pairs).


@dataclass(frozen=True, slots=True)
class AggT(Type):
    """An aggregation map value. kind: count sum min max avg stats hist lhist."""

    kind: str
    signed: bool = True
    hist_bits: int = 0  # hist(x, k)
    lmin: int = 0  # lhist(x, min, max, step)
    lmax: int = 0
    lstep: int = 1

    @property
    def size(self) -> int:
        return 16 if self.kind in ("min", "max", "avg", "stats") else 8

    @property
    def is_hist(self) -> bool:
        return self.kind in ("hist", "lhist")

    def __str__(self) -> str:
        if self.kind == "hist":
            return "hist_t"
        if self.kind == "lhist":
            return "lhist_t"
        if self.kind in ("count", "sum", "min", "max", "avg", "stats"):
            return f"{self.kind}_t" if self.kind in ("avg", "stats") else self.kind
        return self.kind


def hist_bucket_index(value: int, k: int = 0) -> int:
    """Reference bucket index for hist(x, k); codegen computes the same in BPF.

    0: negative; then for 0 <= n < 2**k: n + 1; else with p = floor(log2 n),
    l = p - k: ((l + 1) << k) + ((n >> l) & (2**k - 1)) + 1.
    """
    if value < 0:
        return 0
    mask = (1 << k) - 1
    if value <= mask:
        return value + 1
    low = value.bit_length() - 1 - k
    return ((low + 1) << k) + ((value >> low) & mask) + 1


def hist_bucket_range(index: int, k: int = 0) -> tuple[int | None, int | None]:
    """Inclusive (min, max) of a hist bucket; (None, -1) for the negative bucket."""
    if index == 0:
        return (None, -1)
    mask = (1 << k) - 1
    if index - 1 <= mask:
        return (index - 1, index - 1)
    j = index - 1
    low = (j >> k) - 1
    sub = j & mask
    start = ((1 << k) | sub) << low
    return (start, start + (1 << low) - 1)


def lhist_bucket_index(value: int, lmin: int, lmax: int, step: int) -> int:
    """0 below lmin; 1 + (v - lmin) // step inside; 1 + (lmax - lmin) // step at/above lmax."""
    if value < lmin:
        return 0
    if value >= lmax:
        return 1 + (lmax - lmin) // step
    return 1 + (value - lmin) // step


def unify(a: Type, b: Type) -> Type | None:
    """The type that can hold both, or None when they conflict (map key/value types)."""
    if a == b:
        return a
    if isinstance(a, IntT) and isinstance(b, IntT):
        return IntT(64, a.signed and b.signed)
    if isinstance(a, StrT) and isinstance(b, StrT):
        return StrT(max(a.length, b.length))
    if isinstance(a, TupleT) and isinstance(b, TupleT) and len(a.elems) == len(b.elems):
        elems = [unify(x, y) for x, y in zip(a.elems, b.elems)]
        if any(e is None for e in elems):
            return None
        return TupleT(tuple(e for e in elems if e is not None))
    if isinstance(a, PtrT) and isinstance(b, IntT) or isinstance(a, IntT) and isinstance(b, PtrT):
        return IntT(64, False)
    return None
