"""Range classes of ballistic missiles.

Boundaries as commonly used in public arms-control and defence literature (e.g. US DoD /
Missile Defense Agency terminology): SRBM < 1000 km, MRBM 1000-3000 km, IRBM 3000-5500 km,
ICBM > 5500 km. For a lofted flight, classify the range its burnout energy would give on a
minimum-energy trajectory (`warnlink.physics.kepler.minimum_energy_range_m`), not the
shortened range actually flown.
"""

from __future__ import annotations

from warnlink.errors import PhysicsError
from warnlink.model.payloads import RangeClass


def classify_range(range_km: float) -> RangeClass:
    """Range class of a ground range in km: [0, 1000), [1000, 3000), [3000, 5500], > 5500.

    Raises:
        PhysicsError: for a negative or non-finite range.
    """
    if not 0.0 <= range_km < float("inf"):
        raise PhysicsError(f"range must be a finite non-negative number of km, got {range_km}")
    if range_km < 1000.0:
        return RangeClass.SRBM
    if range_km < 3000.0:
        return RangeClass.MRBM
    if range_km <= 5500.0:
        return RangeClass.IRBM
    return RangeClass.ICBM
