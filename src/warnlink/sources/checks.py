"""Physical plausibility of what a source sends, in the node's frame and SI units.

Every adapter (UDL, CoT) converts its wire form to ECEF metres and m/s first, then
runs these checks over all its states at once (arrays with a leading axis, one row
per state); each returns the rows that fail, as `Finding`s with a reason of
`sources.base.REASONS`. The adapter names the field and record of each row.

The bounds:

- a position's height and a speed within the federation's physical envelope
  (`model.bounds`: (-1 km, 50,000 km] above the WGS-84 ellipsoid, under 12 km/s), so
  that a node never sends what its receivers refuse;
- a covariance symmetric and positive semi-definite: its smallest eigenvalue no
  lower than -`PSD_TOLERANCE` times its largest (rounding in its decimal form), and
  its two triangles equal to the same relative tolerance;
- latitudes in [-90, 90] and longitudes in [-180, 180] degrees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from warnlink.errors import IngestError
from warnlink.geo.wgs84 import geodetic_altitude_m
from warnlink.model.bounds import MAX_ALTITUDE_M, MAX_SPEED_MPS, MIN_ALTITUDE_M
from warnlink.model.time import iso_to_utc_ns

PSD_TOLERANCE: Final = 1e-9
"""Relative tolerance of the symmetry and positive semi-definiteness tests."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One row that failed a check.

    Attributes:
        row: the row (state) of the checked array, from 0.
        reason: a key of `sources.base.REASONS`.
        message: for people, with the value.
    """

    row: int
    reason: str
    message: str


def _rows(values: ArrayLike, width: int) -> NDArray[np.float64]:
    return np.asarray(values, dtype=np.float64).reshape(-1, width)


def _not_finite(rows: NDArray[np.float64], what: str) -> tuple[list[Finding], NDArray[np.bool_]]:
    finite = np.asarray(np.isfinite(rows).all(axis=tuple(range(1, rows.ndim))))
    found = [
        Finding(int(i), "not_finite", f"{what} is not finite") for i in np.flatnonzero(~finite)
    ]
    return found, finite


def position_findings(pos_ecef_m: ArrayLike) -> list[Finding]:
    """Positions (n, 3), ECEF m, not finite or outside the altitude band."""
    pos = _rows(pos_ecef_m, 3)
    found, finite = _not_finite(pos, "the position")
    alt = np.full(len(pos), np.nan)
    if finite.any():
        alt[finite] = geodetic_altitude_m(pos[finite])
    bad = finite & ~((alt > MIN_ALTITUDE_M) & (alt <= MAX_ALTITUDE_M))
    for i in np.flatnonzero(bad):
        found.append(
            Finding(
                int(i),
                "altitude",
                f"height {alt[i] / 1000.0:.3f} km above the WGS-84 ellipsoid is outside "
                f"({MIN_ALTITUDE_M / 1000.0:g}, {MAX_ALTITUDE_M / 1000.0:g}] km",
            )
        )
    return sorted(found, key=lambda f: f.row)


def velocity_findings(vel_ecef_mps: ArrayLike) -> list[Finding]:
    """Velocities (n, 3), ECEF m/s, not finite or of `MAX_SPEED_MPS` or more."""
    vel = _rows(vel_ecef_mps, 3)
    found, finite = _not_finite(vel, "the velocity")
    speed = np.full(len(vel), np.nan)
    with np.errstate(over="ignore"):  # an overflowing speed is over the limit
        speed[finite] = np.linalg.norm(vel[finite], axis=1)
    for i in np.flatnonzero(finite & (speed >= MAX_SPEED_MPS)):
        found.append(
            Finding(
                int(i),
                "speed",
                f"speed {speed[i] / 1000.0:.3f} km/s relative to the Earth is not under "
                f"{MAX_SPEED_MPS / 1000.0:g} km/s",
            )
        )
    return sorted(found, key=lambda f: f.row)


def covariance_findings(cov: ArrayLike) -> list[Finding]:
    """Covariances (n, k, k) not finite, not symmetric or not positive semi-definite."""
    mats = np.asarray(cov, dtype=np.float64)
    if mats.ndim == 2:
        mats = mats[np.newaxis]
    found, finite = _not_finite(mats, "the covariance")
    ok = mats[finite]
    rows = np.flatnonzero(finite)
    if len(ok):
        # Scaled to a largest entry of 1, so that no eigenvalue overflows.
        scale = np.abs(ok).max(axis=(1, 2))
        unit = ok / np.where(scale > 0.0, scale, 1.0)[:, np.newaxis, np.newaxis]
        asym = np.abs(unit - unit.transpose(0, 2, 1)).max(axis=(1, 2)) > PSD_TOLERANCE
        eig = np.linalg.eigvalsh((unit + unit.transpose(0, 2, 1)) / 2.0)
        smallest, largest = eig[:, 0] * scale, eig[:, -1] * scale
        indefinite = smallest < -PSD_TOLERANCE * np.maximum(largest, 0.0)
        for j in np.flatnonzero(asym):
            found.append(Finding(int(rows[j]), "covariance", "the covariance is not symmetric"))
        for j in np.flatnonzero(indefinite & ~asym):
            found.append(
                Finding(
                    int(rows[j]),
                    "covariance",
                    f"the covariance is not positive semi-definite "
                    f"(eigenvalue {smallest[j]:.3g} of largest {largest[j]:.3g})",
                )
            )
    return sorted(found, key=lambda f: f.row)


def latitude_findings(lat_deg: ArrayLike) -> list[Finding]:
    """Latitudes (n,), degrees, not finite or outside [-90, 90]."""
    return _range_findings(lat_deg, -90.0, 90.0, "latitude")


def longitude_findings(lon_deg: ArrayLike) -> list[Finding]:
    """Longitudes (n,), degrees, not finite or outside [-180, 180]."""
    return _range_findings(lon_deg, -180.0, 180.0, "longitude")


def _range_findings(values: ArrayLike, low: float, high: float, what: str) -> list[Finding]:
    rows = _rows(values, 1)
    found, finite = _not_finite(rows, f"the {what}")
    v = rows[:, 0]
    for i in np.flatnonzero(finite & ((v < low) | (v > high))):
        found.append(Finding(int(i), what, f"{what} {v[i]:g} is outside [{low:g}, {high:g}]"))
    return sorted(found, key=lambda f: f.row)


# One value at a time, raising: for adapters that read one event at a time (CoT).


def require(findings: list[Finding], field: str) -> None:
    """Raise the first of `findings` as the `IngestError` of `field`."""
    if findings:
        first = findings[0]
        raise IngestError(first.message, reason=first.reason, field=field)


def finite_of(value: float, field: str) -> float:
    """`value`, if it is a finite number (else ``not_finite``)."""
    if not math.isfinite(value):
        raise IngestError(f"{field} is {value}", reason="not_finite", field=field)
    return value


def latitude_of(lat_deg: float, field: str) -> float:
    """`lat_deg`, if finite and within [-90, 90]."""
    require(latitude_findings([lat_deg]), field)
    return lat_deg


def longitude_of(lon_deg: float, field: str) -> float:
    """`lon_deg`, if finite and within [-180, 180]."""
    require(longitude_findings([lon_deg]), field)
    return lon_deg


def utc_ns_of(text: str, field: str) -> int:
    """An ISO 8601 time with its zone (`model.time.iso_to_utc_ns`) as UTC ns (else ``epoch``)."""
    try:
        return iso_to_utc_ns(text)
    except ValueError as exc:
        raise IngestError(str(exc), reason="epoch", field=field) from exc
