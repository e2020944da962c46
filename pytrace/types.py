"""The type model shared by the passes, codegen, runtime decoding and output.

Two layouts, for two kinds of memory:

- **Internal layout** (`Type.size`): how pytrace stores values it owns — map keys, map
  values, ring-buffer records. Every integer occupies 8 bytes (sign- or zero-extended
  by its type), every component of a composite starts at an 8-byte aligned offset, and
  sizes are rounded up to 8. Padding is always zero, so equal keys are equal bytes.
- **C layout** (`Type.csize`, `Type.calign`, `StructT.fields` offsets): how memory
  that is READ is laid out (structs and arrays keep it inside pytrace too: a value of
  either is the memory image, padded to 8) — kernel and user structs, arrays and integers as C stores
  them (an `int8` is one byte, a `uint16` two, fields at their C offsets, bitfields at
  bit positions). Kernel BTF and the program's C definitions both produce these types;
  nothing downstream knows which one a type came from.

`value_sizeof` is bpftrace's `sizeof` of its own values (tuples laid out C-like).
"""

from __future__ import annotations

from dataclasses import replace

from pytrace.frozen import frozen

DEFAULT_STRLEN = 64
TSERIES_SLOT = 32  # one tseries interval: epoch, value, count, last update ns (u64 each)


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

    @property
    def csize(self) -> int:
        """Bytes this type occupies in C memory (kernel/user structs, arrays)."""
        return self.size

    @property
    def calign(self) -> int:
        """Its C alignment in bytes."""
        return 8


@frozen
class IntT(Type):
    bits: int = 64
    signed: bool = True

    @property
    def size(self) -> int:
        return 8

    @property
    def is_integer(self) -> bool:
        return True

    @property
    def csize(self) -> int:
        return max(1, self.bits // 8)

    @property
    def calign(self) -> int:
        return self.csize

    @property
    def min_value(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max_value(self) -> int:
        return (1 << (self.bits - 1 if self.signed else self.bits)) - 1

    def wrap(self, value: int) -> int:
        """`value` truncated to this width and sign-extended when signed (a C cast)."""
        value &= (1 << self.bits) - 1
        if self.signed and value >> (self.bits - 1):
            value -= 1 << self.bits
        return value

    def __str__(self) -> str:
        return f"{'' if self.signed else 'u'}int{self.bits}"


@frozen
class BoolT(IntT):
    """C `bool`/`_Bool`: one byte in memory, printed `true`/`false`."""

    bits: int = 8
    signed: bool = False

    def __str__(self) -> str:
        return "bool"


@frozen
class EnumT(IntT):
    """A C enum: an integer of its declared width with named values."""

    name: str = ""  # 'enum cpu_usage_stat' ('' for an anonymous enum)
    values: tuple[tuple[str, int], ...] = ()

    def symbol(self, value: int) -> str | None:
        """The name of `value`, None when no enumerator has it."""
        for name, v in self.values:
            if v == value:
                return name
        return None

    def value_of(self, name: str) -> int | None:
        for n, v in self.values:
            if n == name:
                return v
        return None

    def __str__(self) -> str:
        return self.name or "enum <anon>"


@frozen
class BitfieldT(IntT):
    """A bitfield member: `bit_size` bits starting `bit_offset` bits (little-endian bit
    order) past the field's byte offset. `bits`/`signed` are the declared type's; the
    value is read with a `load_size`-byte load, shifted and masked (sign-extended when
    signed)."""

    bit_offset: int = 0
    bit_size: int = 1

    @property
    def load_size(self) -> int:
        need = self.bit_offset + self.bit_size
        return next((n for n in (1, 2, 4, 8) if n * 8 >= need), 8)

    def extract(self, word: int) -> int:
        """The member's value from the little-endian word loaded at its byte offset."""
        v = (word >> self.bit_offset) & ((1 << self.bit_size) - 1)
        if self.signed and v >> (self.bit_size - 1):
            v -= 1 << self.bit_size
        return v

    def __str__(self) -> str:
        return f"{'' if self.signed else 'u'}int{self.bits}:{self.bit_size}"


@frozen
class StrT(Type):
    """A NUL-padded string buffer of `length` bytes (including the NUL)."""

    length: int = DEFAULT_STRLEN

    @property
    def size(self) -> int:
        return align8(self.length)

    @property
    def csize(self) -> int:
        return self.length

    @property
    def calign(self) -> int:
        return 1

    def __str__(self) -> str:
        return f"string[{self.length}]"


@frozen
class BufT(Type):
    """buf(ptr, len): a u32 length followed by `length` bytes."""

    length: int

    @property
    def size(self) -> int:
        return align8(8 + self.length)

    def __str__(self) -> str:
        return f"buffer[{self.length}]"


@frozen
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


@frozen
class RecordT(Type):
    """`(name=value, ...)`: laid out as a tuple of its fields, in this order."""

    fields: tuple[tuple[str, Type], ...]

    @property
    def size(self) -> int:
        return sum(t.size for _, t in self.fields)

    def offsets(self) -> list[int]:
        out, off = [], 0
        for _, t in self.fields:
            out.append(off)
            off += t.size
        return out

    def field(self, name: str) -> tuple[Type, int] | None:
        """(type, offset) of the field `name`, None when the record has none."""
        for (fname, t), off in zip(self.fields, self.offsets()):
            if fname == name:
                return t, off
        return None

    def names(self) -> frozenset[str]:
        return frozenset(n for n, _ in self.fields)

    def __str__(self) -> str:
        return "(" + ",".join(f"{n}={t}" for n, t in self.fields) + ")"


@frozen
class PtrT(Type):
    """A pointer; `pointee` None means void*. user=True for user-space memory,
    kernel=True for kernel memory; neither: the probe kind decides (user in syscall
    tracepoints, uprobes and usdt, kernel elsewhere).

    A pointee StructT may be a reference (name only, see StructT.is_complete): the
    TypeTable completes it when a field is reached through the pointer."""

    pointee: Type | None = None
    user: bool = False
    ctype: str = ""  # the C spelling, e.g. 'const char *'
    kernel: bool = False  # known to point to kernel memory (else the probe kind decides)

    @property
    def size(self) -> int:
        return 8

    @property
    def csize(self) -> int:
        return 8

    @property
    def is_integer(self) -> bool:
        return True  # pointers take part in integer arithmetic and print as ints

    def __str__(self) -> str:
        return self.ctype or f"{self.pointee or 'void'} *"


@frozen
class StructT(Type):
    """A C struct or union (from tracepoint formats, BTF or the program's C definitions).

    fields are (name, type, byte offset) in C layout; a BitfieldT field's bits start at
    its bit_offset past that byte. An anonymous struct/union member has the name ''
    (its members are reachable through `field`). A named StructT without fields is
    either a reference (no size either: what a pointer to a struct holds) or a shallow
    member of a BTF struct (size and alignment, no members); `TypeTable.complete`
    gives the full type of both."""

    name: str  # 'struct task_struct', 'union x' ('' when anonymous)
    byte_size: int = 0
    fields: tuple[tuple[str, Type, int], ...] = ()  # (name, type, offset)
    union: bool = False
    align: int = 0  # C alignment (0: computed from the fields)

    @property
    def size(self) -> int:
        return align8(self.byte_size)

    @property
    def csize(self) -> int:
        return self.byte_size

    @property
    def calign(self) -> int:
        if self.align:
            return self.align
        return max((t.calign for _, t, _ in self.fields), default=1)

    @property
    def is_complete(self) -> bool:
        """False for a reference by name (no fields, no size). An anonymous struct is
        always complete; a named empty one from BTF or C looks like a reference, and
        completing it gives it back unchanged, which is the same thing."""
        return bool(self.fields) or self.byte_size > 0 or not self.name

    def field(self, name: str) -> tuple[Type, int] | None:
        """(type, byte offset) of member `name`, looking into anonymous members too."""
        for fname, ftype, off in self.fields:
            if fname == name:
                return ftype, off
        for fname, ftype, off in self.fields:
            if not fname and isinstance(ftype, StructT):
                inner = ftype.field(name)
                if inner is not None:
                    return inner[0], off + inner[1]
        return None

    def field_names(self) -> list[str]:
        """Every member name reachable with `.` (anonymous members flattened)."""
        out: list[str] = []
        for fname, ftype, _ in self.fields:
            if fname:
                out.append(fname)
            elif isinstance(ftype, StructT):
                out.extend(ftype.field_names())
        return out

    def __str__(self) -> str:
        return self.name or ("union <anon>" if self.union else "struct <anon>")


@frozen
class ArrayT(Type):
    elem: Type
    count: int

    @property
    def size(self) -> int:
        return align8(self.csize)  # an array is a memory image: C layout everywhere

    @property
    def csize(self) -> int:
        return self.elem.csize * self.count

    @property
    def calign(self) -> int:
        return self.elem.calign

    def __str__(self) -> str:
        return f"{self.elem}[{self.count}]"


def bitfield_member(name: str, t: IntT, bit_offset: int, bit_size: int) -> tuple[str, Type, int]:
    """A struct field for a bitfield at `bit_offset` bits into the struct: the byte to
    load from, and the member's bits within that load."""
    byte = bit_offset // 8
    return name, BitfieldT(t.bits, t.signed, bit_offset - byte * 8, bit_size), byte


def array_or_string(elem: Type, count: int) -> Type:
    """A C array `elem[count]`; `char[N]` (any signed 8-bit element) is a string, as
    bpftrace treats C char arrays."""
    if type(elem) is IntT and elem.bits == 8 and elem.signed and count > 0:
        return StrT(count)
    return ArrayT(elem, count)


@frozen
class FuncProtoT(Type):
    """A C function prototype (kernel functions, raw tracepoints, C declarations)."""

    ret: Type | None  # None: void
    params: tuple[tuple[str, Type], ...] = ()
    variadic: bool = False

    @property
    def size(self) -> int:
        return 0

    @property
    def csize(self) -> int:
        return 1

    @property
    def calign(self) -> int:
        return 1

    def __str__(self) -> str:
        args = [str(t) for _, t in self.params] + (["..."] if self.variadic else [])
        return f"{self.ret or 'void'} (*)({', '.join(args)})"


@frozen
class OpaqueT(Type):
    """A C type pytrace cannot compute with (float, a function): known size only."""

    name: str
    byte_size: int = 0
    byte_align: int = 1

    @property
    def size(self) -> int:
        return align8(self.byte_size)

    @property
    def csize(self) -> int:
        return self.byte_size

    @property
    def calign(self) -> int:
        return self.byte_align

    def __str__(self) -> str:
        return self.name


@frozen
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


@frozen
class SymT(Type):
    """ksym()/usym()/func on uprobes: an address resolved to a name in userspace."""

    kernel: bool

    @property
    def size(self) -> int:
        return 16  # address, pid

    def __str__(self) -> str:
        return "ksym" if self.kernel else "usym"


@frozen
class ProbeNameT(Type):
    """The `probe` builtin: an index into Resources.probe_names, resolved in userspace."""

    @property
    def size(self) -> int:
        return 8

    def __str__(self) -> str:
        return "probe"


@frozen
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


@frozen
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


@frozen
class AggT(Type):
    """An aggregation map value. kind: count sum min max avg stats hist lhist tseries.

    tseries(x, interval, n[, agg]): `interval` ns per interval, `buckets` = n intervals
    kept, `tagg` '' (the last value), 'avg', 'max', 'min' or 'sum'. Like a hist, it is
    stored one interval per BPF key (user key + interval slot); each slot value is
    TSERIES_SLOT bytes: epoch, value, count, time of the last update.
    """

    kind: str
    signed: bool = True
    hist_bits: int = 0  # hist(x, k)
    lmin: int = 0  # lhist(x, min, max, step)
    lmax: int = 0
    lstep: int = 1
    interval: int = 0
    buckets: int = 0
    tagg: str = ""

    @property
    def size(self) -> int:
        if self.kind == "tseries":
            return TSERIES_SLOT
        return 16 if self.kind in ("min", "max", "avg", "stats") else 8

    @property
    def is_hist(self) -> bool:
        return self.kind in ("hist", "lhist")

    @property
    def is_bucketed(self) -> bool:
        """Stored one bucket or interval per BPF key (the key ends with its index)."""
        return self.kind in ("hist", "lhist", "tseries")

    def __str__(self) -> str:
        if self.kind == "tseries":
            return "tseries_t"
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
    if isinstance(a, RecordT) and isinstance(b, RecordT):
        return _unify_records(a, b)
    if isinstance(a, PtrT) and isinstance(b, IntT) or isinstance(a, IntT) and isinstance(b, PtrT):
        return IntT(64, False)
    return None


def _unify_records(a: RecordT, b: RecordT) -> RecordT | None:
    """Records of the same field names are one type whatever order they were written
    in: the fields keep a's order (the first assignment's), their types unified."""
    if len(a.fields) != len(b.fields) or a.names() != b.names():
        return None
    other = dict(b.fields)
    fields = []
    for name, t in a.fields:
        u = unify(t, other[name])
        if u is None:
            return None
        fields.append((name, u))
    return RecordT(tuple(fields))


# --------------------------------------------------------- integer promotion


INT_WIDTHS = (8, 16, 32, 64)


def literal_type(value: int) -> IntT:
    """The type an integer literal starts as: the narrowest unsigned type that holds a
    non-negative value, the narrowest signed type that holds a negative one."""
    for bits in INT_WIDTHS:
        t = IntT(bits, value < 0)
        if t.min_value <= value <= t.max_value:
            return t
    return IntT(64, value < 0)


def signed_width(value: int) -> int:
    """Bits of the narrowest signed type holding `value` (more than 64 when none does)."""
    return next((bits for bits in INT_WIDTHS
                 if -(1 << (bits - 1)) <= value < (1 << (bits - 1))), 128)


def promote_int(a: IntT, b: IntT, a_literal: int | None = None,
                b_literal: int | None = None) -> IntT | None:
    """The integer type a value of type a and one of type b both convert to without loss
    (assignments, map values and keys, ternary branches); None when none does (uint64
    meeting a signed type). Same sign: the wider. Mixed signs: the signed type when it is
    wider; when the unsigned side is a literal (positive literals are flexible), the
    signed type widened to hold its value; otherwise a signed type twice the wider
    width."""
    if a == b:
        return a
    if a.signed == b.signed:
        return IntT(max(a.bits, b.bits), a.signed)
    signed, unsigned, literal = (a, b, b_literal) if a.signed else (b, a, a_literal)
    if signed.bits > unsigned.bits:
        return IntT(signed.bits, True)
    if literal is not None and signed_width(literal) <= 64:
        return IntT(max(signed.bits, signed_width(literal)), True)
    bits = 2 * max(a.bits, b.bits)
    return IntT(bits, True) if bits <= 64 else None


def merge_ints(old: IntT, new: IntT, literal: int | None = None) -> tuple[IntT, bool]:
    """The type a variable or map holding `old` has once `new` is also stored (`literal`:
    the stored value when it is a literal), and whether the signs could not be reconciled
    (then it is int64: large unsigned values read back negative)."""
    merged = promote_int(old, new, None, literal)
    return (IntT(64, True), True) if merged is None else (merged, False)


def unify_values(a: Type, b: Type) -> Type | None:
    """As `unify`, with integers (also inside tuples and records) promoted by
    `merge_ints` rather than widened to 64 bits: the types of stored values."""
    if isinstance(a, IntT) and isinstance(b, IntT):
        return merge_ints(a, b)[0]
    if isinstance(a, AggT) and isinstance(b, AggT) and replace(b, signed=a.signed) == a:
        return replace(a, signed=a.signed or b.signed)  # sum(1) and sum(-1): signed
    if isinstance(a, TupleT) and isinstance(b, TupleT) and len(a.elems) == len(b.elems):
        elems = [unify_values(x, y) for x, y in zip(a.elems, b.elems)]
        if any(e is None for e in elems):
            return None
        return TupleT(tuple(e for e in elems if e is not None))
    if isinstance(a, RecordT) and isinstance(b, RecordT):
        if len(a.fields) != len(b.fields) or a.names() != b.names():
            return None
        other = dict(b.fields)
        fields = [(name, unify_values(t, other[name])) for name, t in a.fields]
        if any(t is None for _, t in fields):
            return None
        return RecordT(tuple((n, t) for n, t in fields if t is not None))
    return unify(a, b)


def flexible_operands(a: Type, b: Type, a_literal: int | None,
                      b_literal: int | None) -> tuple[Type, Type]:
    """The operand types that decide an operation's sign: a non-negative literal that
    int64 holds takes the other operand's sign (`$s < 5` compares signed, `$u < 5`
    unsigned), unless both are literals."""
    def adopt(lit: int | None, other: Type, own: Type) -> Type:
        if lit is None or lit < 0 or lit > (1 << 63) - 1 or not isinstance(other, IntT):
            return own
        return IntT(64, other.signed)

    if a_literal is not None and b_literal is not None:
        return a, b
    return adopt(a_literal, b, a), adopt(b_literal, a, b)


def signed_operation(a: Type, b: Type) -> bool:
    """Whether a binary operation on a and b is signed: both signed, or one signed and
    the other an unsigned integer narrower than 64 bits (both then fit in int64, as
    bpftrace upcasts); an unsigned 64-bit operand or a pointer makes it unsigned."""
    def sign(t: Type) -> tuple[bool, int]:
        if isinstance(t, IntT):
            return t.signed, t.bits
        return False, 64  # pointers, probe ids, aggregations read back

    (sa, ba), (sb, bb) = sign(a), sign(b)
    if sa and sb:
        return True
    if sa != sb:
        return (bb if sa else ba) < 64
    return False


# ------------------------------------------------------------------ C layout


def align_up(n: int, a: int) -> int:
    return (n + a - 1) // a * a if a > 1 else n


def c_layout(members: tuple[Type, ...] | list[Type]) -> tuple[list[int], int, int]:
    """(offsets, size, alignment) of members laid out as a C struct would be."""
    offsets, off, align = [], 0, 1
    for t in members:
        a = value_alignof(t)
        off = align_up(off, a)
        offsets.append(off)
        off += value_sizeof(t)
        align = max(align, a)
    return offsets, align_up(off, align), align


def value_sizeof(t: Type) -> int:
    """bpftrace's `sizeof` of a value of type t (integers their own width, strings their
    length, tuples and records laid out C-like, structs their C size)."""
    if isinstance(t, IntT):
        return t.csize
    if isinstance(t, (TupleT, RecordT)):
        elems = t.elems if isinstance(t, TupleT) else tuple(ft for _, ft in t.fields)
        return c_layout(elems)[1]
    if isinstance(t, ArrayT):
        return value_sizeof(t.elem) * t.count
    if isinstance(t, BufT):
        return 1 + t.length
    if isinstance(t, StackT):
        return 8
    if isinstance(t, SymT):
        return 8 if t.kernel else 16
    if isinstance(t, AggT):
        return 8
    return t.csize


def value_alignof(t: Type) -> int:
    """The alignment bpftrace gives a value of type t inside a tuple or record."""
    if isinstance(t, (TupleT, RecordT)):
        elems = t.elems if isinstance(t, TupleT) else tuple(ft for _, ft in t.fields)
        return c_layout(elems)[2]
    if isinstance(t, ArrayT):
        return value_alignof(t.elem)
    if isinstance(t, (StrT, BufT)):
        return 1
    if isinstance(t, (StackT, SymT, AggT, PtrT)):
        return 8
    return t.calign
