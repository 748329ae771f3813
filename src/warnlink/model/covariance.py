"""The wire form of a 6x6 state covariance: its 21 upper-triangle entries, row by row.

This is the UDL convention for ``cov`` (see `payloads.TrackReport`). Packing and
unpacking live together so the two directions cannot drift apart.
"""

from __future__ import annotations

import functools
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

_UPPER: Final = np.triu_indices(6)


def pack_covariance(cov: ArrayLike) -> tuple[float, ...]:
    """The 21 upper-triangle entries of a 6x6 covariance, row by row."""
    return tuple(float(x) for x in np.asarray(cov, dtype=np.float64).reshape(6, 6)[_UPPER])


def unpack_covariance(entries: ArrayLike, size: int = 6) -> NDArray[np.float64]:
    """The symmetric covariance(s) (..., size, size) from upper-triangle entries, row by row.

    21 entries for the 6x6 (position, velocity), 45 for UDL's 9x9 (with acceleration);
    a leading axis unpacks many at once.
    """
    values = np.asarray(entries, dtype=np.float64)
    return np.asarray(values[..., _symmetric_index(size)])


@functools.cache
def _symmetric_index(size: int) -> NDArray[np.intp]:
    """For each (row, column) of a size x size matrix, the index of its entry among the
    upper triangle's, row by row: one gather unpacks (numpy's per-call cost dominated
    building the matrix from its triangles)."""
    index = np.zeros((size, size), dtype=np.intp)
    rows, cols = np.triu_indices(size)
    index[rows, cols] = np.arange(rows.size)
    index[cols, rows] = np.arange(rows.size)
    return index


#: Smallest variance a covariance is given when made positive definite: (1 mm)^2, (1 mm/s)^2.
MIN_VARIANCE: Final = 1e-6


def positive_definite(cov: NDArray[np.float64]) -> NDArray[np.float64]:
    """`cov` if it is positive definite, else the nearest one with every eigenvalue at
    least `MIN_VARIANCE` (symmetrised, eigenvalues floored, rebuilt).

    A source may send a positive semi-definite covariance (a state known exactly along
    some direction: a rank-deficient fit); gating and fusion invert covariances, so the
    node's reports carry this one instead. The change is at most `MIN_VARIANCE` per
    eigenvalue (1 mm or 1 mm/s), well below any sensor's error.
    """
    try:
        np.linalg.cholesky(cov)
        return cov
    except np.linalg.LinAlgError:
        pass
    symmetric = (cov + cov.T) / 2.0
    values, vectors = np.linalg.eigh(symmetric)
    floored = np.maximum(values, MIN_VARIANCE)
    return np.asarray((vectors * floored) @ vectors.T)
