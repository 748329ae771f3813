"""Reports how many cases the property tests generated, and how many disagreed."""

from __future__ import annotations

import pytest

from tests.property.counts import CASES, MISMATCHES
from tests.property.profiles import profile_name


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not CASES:
        return
    terminalreporter.section(f"property cases (profile {profile_name()})")
    for name, count in sorted(CASES.items()):
        terminalreporter.write_line(f"{name}: {count} cases, {MISMATCHES[name]} mismatches")
