"""Tests for pytrace.repl.editing: which editor `.edit` runs and what it returns."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

from pytrace.repl.editing import EditError, edit_text, editor_command


def test_editor_command_prefers_visual_then_editor_then_vi() -> None:
    assert editor_command({"VISUAL": "code -w", "EDITOR": "nano"}) == ["code", "-w"]
    assert editor_command({"EDITOR": "nano -R"}) == ["nano", "-R"]
    assert editor_command({}) == ["vi"]
    with pytest.raises(EditError, match="cannot parse"):
        editor_command({"EDITOR": "'unclosed"})


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "ed.py"
    path.write_text(body)
    return f"{sys.executable} {path}"


def test_edit_text_returns_what_the_editor_saved(tmp_path: Path) -> None:
    ed = _script(tmp_path, "import sys\np = sys.argv[1]\n"
                 "t = open(p).read()\nopen(p, 'w').write(t.replace('one', 'two'))\n")
    assert edit_text("BEGIN { @one = 1; }", {"EDITOR": ed}) == "BEGIN { @two = 1; }"
    assert not list(Path(tempfile.gettempdir()).glob("pytrace-edit-*.bt"))  # removed


def test_a_failing_or_missing_editor_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(EditError, match="exited with status 3"):
        edit_text("x", {"EDITOR": _script(tmp_path, "raise SystemExit(3)\n")})
    with pytest.raises(EditError, match="cannot run the editor /no/such/editor"):
        edit_text("x", {"EDITOR": "/no/such/editor"})
