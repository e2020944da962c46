"""ProbeTarget: one expanded attach point, as the probes registry resolves it.

The front end (passes) and codegen use ProbeTarget; codegen turns each one into a
resources.ProbeSpec for the runtime.
"""

from __future__ import annotations

from dataclasses import field

from pytrace.frozen import frozen
from pytrace.resources import ProgType


@frozen
class TpField:
    """One field of a tracepoint's format file.

    ctype: the declared C type ('const char *', 'int', 'unsigned long', 'char[16]',
      '__data_loc char[]'); offset/size/signed as the format file says (load by size,
      sign by `signed:`, not by the C type). array_len is set for `type name[N]` fields.
    """

    name: str
    ctype: str
    offset: int
    size: int
    signed: bool
    array_len: int | None = None
    data_loc: bool = False

    @property
    def is_string_pointer(self) -> bool:
        return self.array_len is None and not self.data_loc and "char *" in self.ctype.replace("char*", "char *")


@frozen
class ProbeTarget:
    """An expanded attach point.

    kind: canonical kind name ('BEGIN', 'END', 'tracepoint', 'rawtracepoint', 'interval',
      'profile', 'software', 'hardware', 'uprobe', 'uretprobe', 'usdt', 'kprobe',
      'kretprobe', 'fentry', 'fexit', 'watchpoint').
    name: the canonical full name that the `probe` builtin gives
      ('tracepoint:syscalls:sys_enter_read', 'interval:s:1', 'BEGIN').
    attach: the parameters the runtime needs (see resources.ProbeSpec.attach).
    fields: tracepoint format fields (only for tracepoints; common_* fields excluded).
    user_pointers: pointer args point to user memory (syscalls tracepoints, uprobes, usdt).
    func: the function name for uprobe/kprobe/fentry targets ('' otherwise).
    """

    kind: str
    name: str
    prog_type: ProgType
    attach: dict[str, str | int] = field(default_factory=dict)
    fields: tuple[TpField, ...] = ()
    user_pointers: bool = False
    func: str = ""

    def field_named(self, name: str) -> TpField | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None
