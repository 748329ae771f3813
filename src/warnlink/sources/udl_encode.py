"""Source records as UDL MissileTrack JSON: what a national system sends a node.

The inverse of `sources.udl.parse_batch` for what a `SourceRecord` holds: one
MissileTrack per record with one state vector in ECEF (km, km/s; ``referenceFrame``
ECEF), its covariance as the 21 upper-triangle entries in km and km/s
(``covReferenceFrame`` ``ECR/ECEF``), times ISO 8601 UTC to the nanosecond, the national
launch and impact assessments as ELLIPSE areas of uncertainty ([orientation deg,
semi-major km, semi-minor km]). `warnlink feed` sends the simulation this way, and the
tests and the ingest benchmark drive the UDL ports with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import msgspec

from warnlink.model.payloads import Ellipse, Phase
from warnlink.model.record import SourceRecord
from warnlink.model.time import NS_PER_S, utc_ns_to_iso

M_PER_KM: Final = 1000.0
#: Covariance entries are m^2, m^2/s, m^2/s^2 here and km^2... in UDL.
COV_PER_KM2: Final = 1e6


def iso_ns(utc_ns: int) -> str:
    """UTC ns as ISO 8601 with nine fractional digits, e.g. ``2026-11-24T00:10:05.123456789Z``."""
    return utc_ns_to_iso(utc_ns)[:19] + f".{utc_ns % NS_PER_S:09d}Z"


def _aou(ellipse: Ellipse) -> list[float]:
    return [
        ellipse.orientation_deg,
        ellipse.semi_major_m / M_PER_KM,
        ellipse.semi_minor_m / M_PER_KM,
    ]


def udl_track(record: SourceRecord, *, classification: str = "UNCLASSIFIED") -> dict[str, Any]:
    """One record as a UDL MissileTrack (a JSON object)."""
    vector: dict[str, Any] = {
        "epoch": iso_ns(record.epoch_ns),
        "referenceFrame": "ECEF",
        "pos": [x / M_PER_KM for x in record.pos_ecef_m],
        "vel": [v / M_PER_KM for v in record.vel_ecef_mps],
    }
    if record.cov is not None:
        vector["cov"] = [c / COV_PER_KM2 for c in record.cov]
        vector["covReferenceFrame"] = "ECR/ECEF"
    if record.sensor is not None:
        vector["idSensor"] = record.sensor
    track: dict[str, Any] = {
        "classificationMarking": classification,
        "dataMode": record.data_mode.value,
        "source": record.source,
        "ts": iso_ns(record.epoch_ns),
        "trackId": record.track_id,
        "trkQual": record.quality,
        "boosting": record.phase is Phase.BOOST,
        "vectors": [vector],
    }
    if record.lost:
        track["lostTrkInd"] = True
    if record.launch is not None:
        launch = record.launch
        track |= {
            "launchLat": launch.lat_deg,
            "launchLon": launch.lon_deg,
            "launchTime": iso_ns(launch.time_ns),
            "launchAouType": "ELLIPSE",
            "launchAouData": _aou(launch.aou),
        }
        if launch.alt_m is not None:
            track["launchAlt"] = launch.alt_m / M_PER_KM
    if record.impact is not None:
        impact = record.impact
        track |= {
            "impactLat": impact.lat_deg,
            "impactLon": impact.lon_deg,
            "impactTime": iso_ns(impact.time_ns),
            "impactAouType": "ELLIPSE",
            "impactAouData": _aou(impact.aou),
        }
        if impact.confidence is not None:
            track["impactConf"] = impact.confidence * 100.0
    return track


def udl_body(records: Sequence[SourceRecord], *, classification: str = "UNCLASSIFIED") -> bytes:
    """Records as a ``createBulk`` body: a JSON array of MissileTracks."""
    return msgspec.json.encode([udl_track(r, classification=classification) for r in records])
