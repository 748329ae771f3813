"""Counts of generated cases, per property test, reported at the end of the session."""

from __future__ import annotations

from collections import Counter

CASES: Counter[str] = Counter()
MISMATCHES: Counter[str] = Counter()
