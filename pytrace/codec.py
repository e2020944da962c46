"""A data-only codec for the compiler's frozen dataclasses (Resources, ProbeSpec, Type...).

Values become JSON-compatible trees with a type tag per dataclass and enum. Decoding
builds only classes from an allow-list (every dataclass and IntEnum defined in the
allowed modules, found by introspection, so types added later need no change here):
nothing read from disk can name a function, import a module or run code. Anything
unexpected raises `CodecError`.
"""

from __future__ import annotations

import dataclasses
import enum
import sys
from collections.abc import Iterable
from types import ModuleType
from typing import Any

ALLOWED_MODULES = ("pytrace.types", "pytrace.resources")


class CodecError(ValueError):
    """The data does not describe a value of the allowed types."""


class Codec:
    """Encoder/decoder over the dataclasses and IntEnums of some modules."""

    def __init__(self, modules: Iterable[ModuleType]) -> None:
        self.classes: dict[str, type] = {}
        for mod in modules:
            for obj in vars(mod).values():
                if isinstance(obj, type) and obj.__module__ == mod.__name__ and (
                        dataclasses.is_dataclass(obj) or issubclass(obj, enum.IntEnum)):
                    self.classes[obj.__name__] = obj
        self._fields: dict[type, tuple[str, ...]] = {
            cls: tuple(f.name for f in dataclasses.fields(cls) if f.init)
            for cls in self.classes.values() if dataclasses.is_dataclass(cls)
        }

    # ------------------------------------------------------------ encode
    def encode(self, v: Any) -> Any:
        """A JSON-compatible tree for `v` (raises CodecError for other objects)."""
        if v is None or isinstance(v, (bool, str, float)):
            return v
        if isinstance(v, enum.IntEnum):
            return {"E": self._tag(type(v)), "v": int(v)}
        if isinstance(v, int):
            return v
        if isinstance(v, tuple):
            return {"T": [self.encode(x) for x in v]}
        if isinstance(v, list):
            return [self.encode(x) for x in v]
        if isinstance(v, dict):
            return {"D": [[self.encode(k), self.encode(x)] for k, x in v.items()]}
        if isinstance(v, (bytes, bytearray)):
            return {"B": bytes(v).hex()}
        cls = type(v)
        if cls in self._fields:
            return {"C": self._tag(cls), "f": {n: self.encode(getattr(v, n)) for n in self._fields[cls]}}
        raise CodecError(f"cannot encode a {cls.__module__}.{cls.__qualname__}")

    def _tag(self, cls: type) -> str:
        if self.classes.get(cls.__name__) is not cls:
            raise CodecError(f"{cls.__qualname__} is not an allowed class")
        return cls.__name__

    # ------------------------------------------------------------ decode
    def decode(self, t: Any) -> Any:
        """The value a tree from `encode` describes (raises CodecError on anything else)."""
        if t is None or isinstance(t, (bool, int, float, str)):
            return t
        if isinstance(t, list):
            return [self.decode(x) for x in t]
        if not isinstance(t, dict) or len(t) not in (1, 2):
            raise CodecError("malformed value")
        if "T" in t:
            return tuple(self.decode(x) for x in self._seq(t["T"]))
        if "D" in t:
            return {self._key(self.decode(k)): self.decode(x) for k, x in self._pairs(t["D"])}
        if "B" in t:
            return self._bytes(t["B"])
        if "E" in t:
            cls = self._cls(t["E"])
            if not issubclass(cls, enum.IntEnum) or not isinstance(t.get("v"), int):
                raise CodecError("malformed enum")
            try:
                return cls(t["v"])
            except ValueError as exc:
                raise CodecError(str(exc)) from None
        if "C" in t:
            return self._dataclass(self._cls(t["C"]), t.get("f"))
        raise CodecError("malformed value")

    def _cls(self, name: Any) -> type:
        cls = self.classes.get(name) if isinstance(name, str) else None
        if cls is None:
            raise CodecError(f"unknown class {name!r}")
        return cls

    def _dataclass(self, cls: type, fields: Any) -> Any:
        names = self._fields.get(cls)
        if names is None or not isinstance(fields, dict) or not set(fields) <= set(names):
            raise CodecError(f"malformed {cls.__name__}")
        try:
            return cls(**{k: self.decode(v) for k, v in fields.items()})
        except TypeError as exc:  # a required field is missing
            raise CodecError(str(exc)) from None

    @staticmethod
    def _seq(v: Any) -> list[Any]:
        if not isinstance(v, list):
            raise CodecError("malformed sequence")
        return v

    def _pairs(self, v: Any) -> list[tuple[Any, Any]]:
        items = self._seq(v)
        if not all(isinstance(p, list) and len(p) == 2 for p in items):
            raise CodecError("malformed mapping")
        return [(p[0], p[1]) for p in items]

    @staticmethod
    def _key(k: Any) -> Any:
        try:
            hash(k)
        except TypeError:
            raise CodecError("unhashable mapping key") from None
        return k

    @staticmethod
    def _bytes(v: Any) -> bytes:
        if not isinstance(v, str):
            raise CodecError("malformed bytes")
        try:
            return bytes.fromhex(v)
        except ValueError:
            raise CodecError("malformed bytes") from None


_DEFAULT: Codec | None = None


def default_codec() -> Codec:
    """The codec over ALLOWED_MODULES (built once)."""
    global _DEFAULT
    if _DEFAULT is None:
        import importlib

        _DEFAULT = Codec(sys.modules.get(m) or importlib.import_module(m) for m in ALLOWED_MODULES)
    return _DEFAULT
