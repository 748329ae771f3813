"""Counts examples per fuzz target and prints them at the end of the session."""

from __future__ import annotations

import pytest

from tests.fuzz.harness import EXAMPLES, OUTCOMES
from tests.property.profiles import profile_name


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not EXAMPLES:
        return
    terminalreporter.section(f"fuzz examples (profile {profile_name()})")
    for name, count in sorted(EXAMPLES.items()):
        outcomes = ", ".join(
            f"{outcome} {n}" for (target, outcome), n in sorted(OUTCOMES.items()) if target == name
        )
        terminalreporter.write_line(f"{name}: {count} examples ({outcomes or 'checked inline'})")
