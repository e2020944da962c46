"""Tests for pytrace.repl.editor: submit-when-complete, history location, and the real
PromptSession driven through a pipe input."""

from __future__ import annotations

from pathlib import Path

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from pytrace.repl.editor import history_path, make_prompt, should_submit


@pytest.mark.parametrize(("text", "submit"), [
    ("", True), ("   ", True), (".probes", True), (".watch @x", True),
    ("BEGIN {", False), ("BEGIN { printf(\"a", False), ("BEGIN { @x = 1; }", True),
    ("k:f /pid", False), ("BEGIN { } }", True),
])
def test_should_submit(text: str, submit: bool) -> None:
    assert should_submit(text) is submit


def test_history_path_follows_xdg() -> None:
    assert history_path({"XDG_STATE_HOME": "/s"}) == Path("/s/pytrace/history")
    assert history_path({"HOME": "/h"}) == Path("/h/.local/state/pytrace/history")


def test_multiline_entry_is_submitted_when_complete(tmp_path: Path) -> None:
    hist = tmp_path / "state" / "history"
    with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):
        session = make_prompt(lambda: ["@opens"], history=hist, input=inp,
                              output=DummyOutput())
        inp.send_text("BEGIN {\r@x = 1;\r}\r")
        assert session.prompt() == "BEGIN {\n@x = 1;\n}"
    assert "@x = 1;" in hist.read_text()
