"""UDL MissileTrack records for tests: one plausible midcourse track over the Sea of Japan.

`record()` and `vector()` give the JSON objects (UDL's names and units: km, km/s,
km^2...) with any field changed or, with `DROP`, removed; `body()` the bytes of a
``createBulk`` array; `sdk_params()` a record as a udl-sdk user passes it.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import numpy as np

from warnlink.geo.wgs84 import enu_rotation, lla_to_ecef
from warnlink.model.time import iso_to_utc_ns

DROP: Final = object()
"""As a field's value: leave the field out."""
EPOCH: Final = "2026-11-24T00:10:05.250000Z"
EPOCH_NS: Final = iso_to_utc_ns(EPOCH)
LAT, LON, ALT_M = 40.0, 133.0, 300_000.0
#: East, north, up velocity, m/s: eastwards, climbing.
VEL_ENU_MPS: Final = (2500.0, 300.0, 400.0)
POS_KM: Final = [float(x) / 1000.0 for x in lla_to_ecef(LAT, LON, ALT_M)]
VEL_KM_S: Final = [float(x) / 1000.0 for x in enu_rotation(LAT, LON).T @ np.array(VEL_ENU_MPS)]
POS_SIGMA_KM, VEL_SIGMA_KM_S = 0.2, 0.01


def diagonal_cov(*variances: float) -> list[float]:
    """The upper triangle, row by row, of a diagonal covariance."""
    n = len(variances)
    return [variances[i] if i == j else 0.0 for i in range(n) for j in range(i, n)]


COV21_KM: Final = diagonal_cov(*[POS_SIGMA_KM**2] * 3, *[VEL_SIGMA_KM_S**2] * 3)


def _changed(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = {**base, **changes}
    return {k: v for k, v in out.items() if v is not DROP}


def vector(**changes: Any) -> dict[str, Any]:
    """One MissileTrackVector (ECEF, ECEF covariance), with `changes`."""
    base = {
        "epoch": EPOCH,
        "pos": POS_KM,
        "vel": VEL_KM_S,
        "cov": COV21_KM,
        "covReferenceFrame": "ECR/ECEF",
        "referenceFrame": "ECEF",
        "idSensor": "ROK-R1",
    }
    return _changed(base, changes)


def record(**changes: Any) -> dict[str, Any]:
    """One MissileTrack record with one vector, with `changes`."""
    base = {
        "classificationMarking": "U",
        "dataMode": "EXERCISE",
        "source": "whatever-the-sender-says",
        "ts": EPOCH,
        "trackId": "T-1",
        "vectors": [vector()],
    }
    return _changed(base, changes)


def body(*records: Any) -> bytes:
    """The bytes of a createBulk array of `records` (one default record if none)."""
    return json.dumps(list(records) if records else [record()]).encode()


def sdk_params(track: dict[str, Any]) -> dict[str, Any]:
    """A MissileTrack (UDL's JSON names) as udl-sdk's parameters: snake_case names, which
    udl-sdk turns back into UDL's (``trkQual`` is ``trk_qual``)."""

    def snake(name: str) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()

    return {
        snake(key): [sdk_params(v) for v in value] if key == "vectors" else value
        for key, value in track.items()
    }
