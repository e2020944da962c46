"""The REPL's input editor: a prompt_toolkit PromptSession that submits an entry only when
the parser says it is complete, with highlighting, completion as you type (a menu under
the cursor), fish-style suggestions from history (→ or Ctrl-E accepts), a bottom toolbar
with the signature of the builtin at hand, and an XDG history file.

Enter on an incomplete block inserts a newline; Ctrl-C (KeyboardInterrupt from prompt())
cancels the current input; Ctrl-D (EOFError) ends the session. No kernel access here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.application.current import get_app
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import Output
from prompt_toolkit.styles import Style

from pytrace.repl.commands import is_meta
from pytrace.repl.completer import Context, ReplCompleter
from pytrace.repl.lexer import STYLE_RULES, ReplLexer
from pytrace.repl.toolbar import toolbar_text

PROMPT = "pytrace> "
CONTINUATION = "    ...> "


def history_path(env: dict[str, str] | None = None) -> Path:
    """$XDG_STATE_HOME/pytrace/history, else ~/.local/state/pytrace/history."""
    env = dict(os.environ) if env is None else env
    base = env.get("XDG_STATE_HOME") or os.path.join(
        env.get("HOME") or os.path.expanduser("~"), ".local", "state")
    return Path(base) / "pytrace" / "history"


def should_submit(text: str) -> bool:
    """Whether Enter submits the entry (blank, a meta command, or a complete program)."""
    if not text.strip() or is_meta(text):
        return True
    from pytrace.parser import is_complete

    try:
        return is_complete(text)
    except Exception:  # noqa: BLE001 - submit and let the compiler report it
        return True


def _history(path: Path | None) -> History:
    if path is None:
        return InMemoryHistory()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    except OSError:
        return InMemoryHistory()
    return FileHistory(str(path))


def _bindings() -> KeyBindings:
    kb = KeyBindings()

    @kb.add("enter")
    def _enter(event: KeyPressEvent) -> None:
        buf = event.current_buffer
        state = buf.complete_state
        if state is not None and state.current_completion is not None:
            buf.apply_completion(state.current_completion)  # Enter takes the menu's choice
            return
        buf.cancel_completion()
        if should_submit(buf.text):
            buf.validate_and_handle()
        else:
            buf.insert_text("\n")

    @kb.add("escape", "enter")
    def _force(event: KeyPressEvent) -> None:
        event.current_buffer.validate_and_handle()

    return kb


def _toolbar(status: Callable[[], str]) -> Callable[[], str]:
    def show() -> str:
        try:
            buf = get_app().current_buffer
            state = buf.complete_state
            chosen = None
            if state is not None:  # the menu's choice, else its first line
                chosen = state.current_completion or next(iter(state.completions), None)
            return toolbar_text(buf.text, buf.cursor_position,
                                chosen.text if chosen is not None else None, status())
        except Exception:  # noqa: BLE001 - a toolbar bug must not end the session
            return ""
    return show


STYLE = {**STYLE_RULES, "bottom-toolbar": "noreverse bg:ansiblack ansiwhite",
         "auto-suggestion": "ansibrightblack"}


def make_prompt(context: Callable[[], Context] | Callable[[], Iterable[str]],
                history: Path | None = None, input: Input | None = None,
                output: Output | None = None,
                status: Callable[[], str] = lambda: "") -> PromptSession[str]:
    """The PromptSession for the REPL; `context` gives completion its live sources
    (or is just a callable of the map names), `status` the toolbar's idle text."""
    return PromptSession(
        message=PROMPT,
        multiline=True,
        prompt_continuation=lambda width, line, wrap: CONTINUATION[-width:] if width else "",
        key_bindings=_bindings(),
        lexer=ReplLexer(),
        completer=ReplCompleter(context),
        complete_while_typing=True,
        complete_in_thread=True,
        auto_suggest=AutoSuggestFromHistory(),
        bottom_toolbar=_toolbar(status),
        history=_history(history),
        style=Style.from_dict(STYLE),
        input=input,
        output=output,
    )
