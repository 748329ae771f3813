"""The wire form of a 6x6 state covariance: its 21 upper-triangle entries, row by row.

This is the UDL convention for ``cov`` (see `payloads.TrackReport`). Packing and
unpacking live together so the two directions cannot drift apart.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

_UPPER: Final = np.triu_indices(6)


def pack_covariance(cov: ArrayLike) -> tuple[float, ...]:
    """The 21 upper-triangle entries of a 6x6 covariance, row by row."""
    return tuple(float(x) for x in np.asarray(cov, dtype=np.float64).reshape(6, 6)[_UPPER])


def unpack_covariance(entries: ArrayLike) -> NDArray[np.float64]:
    """The symmetric 6x6 covariance from its 21 upper-triangle entries."""
    upper = np.zeros((6, 6))
    upper[_UPPER] = np.asarray(entries, dtype=np.float64)
    return upper + np.triu(upper, 1).T
