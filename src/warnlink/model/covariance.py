"""The wire form of a 6x6 state covariance: its 21 upper-triangle entries, row by row.

This is the UDL convention for ``cov`` (see `payloads.TrackReport`). Packing and
unpacking live together so the two directions cannot drift apart.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
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


def packed_positive_definite(entries: Sequence[float]) -> bool:
    """Whether the symmetric 6x6 matrix of 21 upper-triangle `entries` (row by row) is
    positive definite: its Cholesky factorisation (Golub and Van Loan, Matrix
    Computations, 4th ed., algorithm 4.2.1, row by row) finds every pivot positive.

    Written out in plain floats: every decoded track report is checked, and numpy's
    per-call overhead on one 6x6 matrix cost the relay more than the arithmetic (issue
    18); as straight-line code it also runs several times faster than as loops.
    ``lJI`` is entry (J, I) of the lower factor; a NaN pivot is not positive.
    Agrees with `np.linalg.cholesky` of `unpack_covariance(entries)` up to rounding on
    matrices at the edge of definiteness.
    """
    e = entries
    pivot = e[0]
    if not pivot > 0.0:
        return False
    l00 = math.sqrt(pivot)
    l10 = e[1] / l00
    pivot = e[6] - l10 * l10
    if not pivot > 0.0:
        return False
    l11 = math.sqrt(pivot)
    l20 = e[2] / l00
    l21 = (e[7] - l20 * l10) / l11
    pivot = e[11] - l20 * l20 - l21 * l21
    if not pivot > 0.0:
        return False
    l22 = math.sqrt(pivot)
    l30 = e[3] / l00
    l31 = (e[8] - l30 * l10) / l11
    l32 = (e[12] - l30 * l20 - l31 * l21) / l22
    pivot = e[15] - l30 * l30 - l31 * l31 - l32 * l32
    if not pivot > 0.0:
        return False
    l33 = math.sqrt(pivot)
    l40 = e[4] / l00
    l41 = (e[9] - l40 * l10) / l11
    l42 = (e[13] - l40 * l20 - l41 * l21) / l22
    l43 = (e[16] - l40 * l30 - l41 * l31 - l42 * l32) / l33
    pivot = e[18] - l40 * l40 - l41 * l41 - l42 * l42 - l43 * l43
    if not pivot > 0.0:
        return False
    l44 = math.sqrt(pivot)
    l50 = e[5] / l00
    l51 = (e[10] - l50 * l10) / l11
    l52 = (e[14] - l50 * l20 - l51 * l21) / l22
    l53 = (e[17] - l50 * l30 - l51 * l31 - l52 * l32) / l33
    l54 = (e[19] - l50 * l40 - l51 * l41 - l52 * l42 - l53 * l43) / l44
    pivot = e[20] - l50 * l50 - l51 * l51 - l52 * l52 - l53 * l53 - l54 * l54
    return pivot > 0.0


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
