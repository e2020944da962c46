"""The one error the C-definitions front end raises: a message and where it applies."""

from __future__ import annotations


class CDefsError(Exception):
    """A C definition, header or directive that cannot be used.

    line is 1-based in `file`; file '' (or the program's name) means the program itself.
    """

    def __init__(self, message: str, line: int = 0, file: str = "", col: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.file = file
        self.col = col
