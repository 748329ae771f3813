"""The packed covariance check agrees with numpy's Cholesky factorisation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from warnlink.model.covariance import pack_covariance, packed_positive_definite, unpack_covariance


def numpy_says(entries: tuple[float, ...]) -> bool:
    try:
        np.linalg.cholesky(unpack_covariance(entries))
    except np.linalg.LinAlgError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shift=st.floats(-50.0, 50.0),
)
def test_agrees_with_numpy_away_from_the_edge(seed: int, shift: float) -> None:
    """Random symmetric matrices, definite or not, their smallest eigenvalue kept clear
    of zero (at the edge the two may round either way)."""
    rng = np.random.default_rng(seed)
    half = rng.normal(size=(6, 6)) * rng.uniform(0.1, 100.0, size=6)
    cov = half @ half.T / 6.0 + shift * np.eye(6)
    smallest = np.linalg.eigvalsh(cov)[0]
    assume(abs(smallest) > 1e-6 * np.abs(cov).max())
    entries = pack_covariance(cov)
    assert packed_positive_definite(entries) is numpy_says(entries) is bool(smallest > 0)


@pytest.mark.parametrize(
    ("case", "cov"),
    [
        ("diagonal", np.diag([100.0, 100.0, 100.0, 1.0, 1.0, 1.0])),
        ("zero", np.zeros((6, 6))),
        ("singular", np.ones((6, 6))),
        ("negative variance", np.diag([100.0, -1.0, 100.0, 1.0, 1.0, 1.0])),
        ("indefinite", np.eye(6) + 2.0 * np.eye(6, k=1) + 2.0 * np.eye(6, k=-1)),
        ("last pivot", np.diag([1.0, 1.0, 1.0, 1.0, 1.0, -1e-12])),
    ],
)
def test_named_cases(case: str, cov: np.ndarray) -> None:
    entries = pack_covariance(cov)
    assert packed_positive_definite(entries) is numpy_says(entries), case


def test_a_nan_is_not_positive_definite() -> None:
    """Stricter than LAPACK, which lets a NaN through its pivots."""
    assert not packed_positive_definite(pack_covariance(np.diag([math.nan, *[1.0] * 5])))
