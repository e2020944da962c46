"""What code generation raises: both become located diagnostics in the driver."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytrace import nodes


class CodegenError(Exception):
    """A construct codegen cannot compile; becomes a located diagnostic."""

    def __init__(self, message: str, node: nodes.Node | None = None) -> None:
        super().__init__(message)
        self.node = node


class StackOverflow(Exception):
    """The program needs more BPF stack than allowed; becomes a diagnostic."""
