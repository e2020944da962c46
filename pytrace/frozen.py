"""`@frozen`: the immutable record classes of pytrace, cheap to define at start-up.

Type checkers see a frozen dataclass (assigning a field is a mypy error), while at run
time the class is a slotted dataclass with value equality and a hash but without the
frozen machinery. A frozen dataclass generates two more methods per class and sets every
field through `object.__setattr__`, which roughly doubles the cost of defining it and of
creating instances; pytrace defines some sixty of them on every start, so the warm start
paid ~20 ms for a guarantee mypy already gives (bench/RESULTS.md, start-up).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING or sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # Python 3.10: the decorator only informs type checkers

    def dataclass_transform(**_kwargs: Any) -> Any:
        return lambda f: f

T = TypeVar("T")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def frozen(cls: type[T]) -> type[T]:
    """A value class: fields set once by __init__, compared and hashed by value."""
    return dataclass(unsafe_hash=True, slots=True)(cls)
