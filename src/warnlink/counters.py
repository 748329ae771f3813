"""Named event counters: refused input, decisions, deliveries.

Counters are how bad input is made visible without stopping anything: every edge
that refuses a message counts it here under a stable key.
"""

from __future__ import annotations

from collections import Counter


class Counters:
    """A bag of named integer counters, readable as a plain dict."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def inc(self, key: str, by: int = 1) -> None:
        self._counts[key] += by

    def get(self, key: str) -> int:
        return self._counts[key]

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self._counts.items()))
