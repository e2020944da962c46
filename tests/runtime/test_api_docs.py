"""Every ```python example of docs/python-api.md runs as written (and the test_*
functions it defines are called)."""

from __future__ import annotations

import os
import re

import pytest

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "python-api.md")


def examples() -> list[str]:
    with open(DOC) as f:
        return re.findall(r"^```python\n(.*?)^```$", f.read(), flags=re.S | re.M)


def test_the_page_has_examples() -> None:
    assert len(examples()) >= 6


@pytest.mark.parametrize("index", range(len(examples())))
def test_example_runs(index: int) -> None:
    code = examples()[index]
    namespace: dict[str, object] = {"__name__": f"python_api_example_{index}"}
    exec(compile(code, f"docs/python-api.md example {index + 1}", "exec"), namespace)
    for name, fn in list(namespace.items()):
        if name.startswith("test_") and callable(fn):
            fn()
