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


def unpack_covariance(entries: ArrayLike, size: int = 6) -> NDArray[np.float64]:
    """The symmetric covariance(s) (..., size, size) from upper-triangle entries, row by row.

    21 entries for the 6x6 (position, velocity), 45 for UDL's 9x9 (with acceleration);
    a leading axis unpacks many at once.
    """
    values = np.asarray(entries, dtype=np.float64)
    upper = np.zeros((*values.shape[:-1], size, size))
    rows, cols = _UPPER if size == 6 else np.triu_indices(size)
    upper[..., rows, cols] = values
    return np.asarray(upper + np.swapaxes(np.triu(upper, 1), -1, -2))
