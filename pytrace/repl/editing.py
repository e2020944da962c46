"""`.edit`: an entry's text through the user's editor ($VISUAL, else $EDITOR, else vi).

`edit_text(text)` writes the text to a private temporary `.bt` file, runs the editor on
the terminal and returns what was saved; EditError (one line) when no editor can run
or it fails. The file is always removed.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Mapping


class EditError(Exception):
    """The editor could not run or exited with an error; str(e) is the one line."""


def editor_command(env: Mapping[str, str] | None = None) -> list[str]:
    """The editor's argv (without the file): $VISUAL, else $EDITOR, else vi."""
    env = os.environ if env is None else env
    for var in ("VISUAL", "EDITOR"):
        value = env.get(var, "").strip()
        if value:
            try:
                argv = shlex.split(value)
            except ValueError:
                raise EditError(f"cannot parse ${var}: {value!r}") from None
            if argv:
                return argv
    return ["vi"]


def edit_text(text: str, env: Mapping[str, str] | None = None) -> str:
    """Let the user edit `text`; the saved text."""
    argv = editor_command(env)
    fd, path = tempfile.mkstemp(prefix="pytrace-edit-", suffix=".bt")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text.rstrip("\n") + "\n")
        try:
            rc = subprocess.call([*argv, path])
        except OSError as exc:
            raise EditError(f"cannot run the editor {argv[0]}: {exc.strerror}") from None
        if rc != 0:
            raise EditError(f"the editor {argv[0]} exited with status {rc}: probe unchanged")
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read().rstrip("\n")
    finally:
        os.unlink(path)
