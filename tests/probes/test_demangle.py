"""C++ names through the C++ runtime's demangler, and their parameter lists cut off."""

from __future__ import annotations

import pytest

from pytrace.probes.demangle import available, demangle, without_parameters

pytestmark = pytest.mark.skipif(not available(), reason="libstdc++ is not installed")


def test_demangle() -> None:
    assert demangle("_ZN5MyApp6Server14handle_requestEi") == "MyApp::Server::handle_request(int)"
    assert demangle("main") is None and demangle("_Zbogus") is None


def test_without_parameters() -> None:
    assert without_parameters("ns::f(int) const") == "ns::f"
    assert without_parameters("ns::g<std::pair<int, long> >(int)") == "ns::g<std::pair<int, long> >"
    assert without_parameters("ns::C::operator()(int)") == "ns::C::operator()"
    assert without_parameters("plain") == "plain"
