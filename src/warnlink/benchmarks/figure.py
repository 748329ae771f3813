"""What every benchmark reports: figures against a reference measured in the same run.

A `Figure` is one measured value beside its reference (what the same machine does, in
the same run, for the least comparable work), their ratio and the target, met or missed.
A `Result` is one benchmark's figures and the inputs it ran on. The timing helpers are
shared by every benchmark and by the scripts in ``bench/``.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec


class Figure(msgspec.Struct, frozen=True):
    """One measured figure.

    Attributes:
        name: dotted name, ``<benchmark>.<what>``.
        value: the measurement.
        unit: its unit (``msgs/s``, ``ms``, ``updates/s``, ``s``, ...).
        reference: what the reference is, in words.
        reference_value: the reference measured in the same run, in `unit`.
        ratio: value / reference_value (None when the reference is zero).
        target: the target in words (None: no target, the figure informs).
        met: whether the target is met (None when there is no target).
    """

    name: str
    value: float
    unit: str
    reference: str
    reference_value: float
    ratio: float | None
    target: str | None = None
    met: bool | None = None


def figure(
    name: str,
    value: float,
    unit: str,
    reference: str,
    reference_value: float,
    *,
    target: str | None = None,
    met: bool | None = None,
) -> Figure:
    """A `Figure` with its ratio computed (None when the reference is zero)."""
    ratio = value / reference_value if reference_value else None
    return Figure(name, value, unit, reference, reference_value, ratio, target, met)


class Result(msgspec.Struct, frozen=True):
    """One benchmark's figures, the inputs it ran on and its wall time.

    Attributes:
        name: the benchmark (``relay``, ``association``, ``e2e``, ``salvo``, ``estimation``,
            ``demo``, ``ingest``).
        figures: what it measured.
        inputs: what it ran on (counts, sizes, scenario, transport...), plain data.
        wall_s: how long the benchmark took, s.
    """

    name: str
    figures: list[Figure]
    inputs: dict[str, Any]
    wall_s: float = 0.0


def best_seconds(run: Callable[[], object], rounds: int) -> float:
    """The shortest wall time of `rounds` calls of `run`, s: the least disturbed round."""
    best = math.inf
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def quantiles(samples: Sequence[float], *probabilities: float) -> list[float]:
    """Empirical quantiles (inclusive method) of `samples` at `probabilities` in (0, 1)."""
    cuts = statistics.quantiles(samples, n=10_000, method="inclusive")
    return [cuts[max(0, round(p * 10_000) - 1)] for p in probabilities]
