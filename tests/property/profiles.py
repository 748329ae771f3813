"""Hypothesis settings for the property and fuzz suites.

Profiles, chosen by ``HYPOTHESIS_PROFILE`` (default: ``ci`` when ``CI=true``, else
``dev``): ``dev`` draws fresh examples each run; ``ci`` is derandomized, so CI sees
the same examples every time; ``big`` runs ten times the examples. ``FUZZ_EXAMPLES``
sets the example count of every fuzz target (``make fuzz``).

The settings are applied per test (`prop_settings`), never loaded globally, so the
rest of the suite keeps its own Hypothesis settings.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings

_PROFILES: dict[str, dict[str, Any]] = {
    "dev": {"derandomize": False, "scale": 1},
    "ci": {"derandomize": True, "scale": 1},
    "big": {"derandomize": False, "scale": 10},
}


def profile_name() -> str:
    default = "ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "dev"
    name = os.environ.get("HYPOTHESIS_PROFILE", default)
    return name if name in _PROFILES else default


def scale() -> int:
    return int(_PROFILES[profile_name()]["scale"])


def prop_settings(examples: int, **overrides: Any) -> settings:
    """Settings for a property test of `examples` examples at the profile's scale."""
    options: dict[str, Any] = {
        "max_examples": examples * scale(),
        "derandomize": _PROFILES[profile_name()]["derandomize"],
        "deadline": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    }
    options.update(overrides)
    return settings(**options)


def fuzz_examples(short: int) -> int:
    """Examples per fuzz target: `short` in ``make test``, FUZZ_EXAMPLES in ``make fuzz``."""
    override = os.environ.get("FUZZ_EXAMPLES")
    return int(override) if override else short * scale()


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail an example that runs longer than `seconds` (a hang), on the main thread."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"example ran over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def fuzz_settings(short: int) -> settings:
    """Settings for a fuzz target: `short` examples in ``make test`` (FUZZ_EXAMPLES in
    ``make fuzz``), and a per-example deadline well above any honest decode."""
    return prop_settings(1, max_examples=fuzz_examples(short), deadline=timedelta(seconds=5))
