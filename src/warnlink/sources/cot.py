"""Cursor-on-Target in: one hostile missile's CoT event as one `SourceRecord`.

The mapping (docs/integration.md has the table):

- ``uid`` -> track_id; ``start`` (else ``time``) -> epoch;
- ``<point lat lon hae>`` -> ECEF position (WGS-84, `geo.wgs84.lla_to_ecef`);
- ``<track course speed slope>`` -> ECEF velocity: course from true north, speed the
  magnitude of the motion, slope its angle above the horizon (MITRE CoT track detail);
  east = v cos(slope) sin(course), north = v cos(slope) cos(course), up = v sin(slope),
  rotated from the local East-North-Up frame to ECEF (`geo.wgs84.enu_rotation`).
  Without a slope (the TAK protocol's track has none) the vertical velocity is 0 and
  unknown;
- ``ce``/``le`` (1-sigma horizontal per axis and vertical errors, m) -> a position
  covariance diagonal in ENU, rotated to ECEF. CoT carries no velocity uncertainty: the
  record states `VELOCITY_SIGMA_MPS` per axis (`UNKNOWN_CLIMB_SIGMA_MPS` vertically when
  there is no slope). With ce or le unknown (9999999, absent or 0) there is no
  covariance at all (``cov=None``) and the quality is 0; else the quality is
  `quality_from_sigma` of the larger error;
- phase: warnlink's ``<__warnlink phase>`` mark, else from height and climb
  (`estimation.radar_tracker.flight_phase`: terminal when descending below 100 km,
  else midcourse; one CoT state cannot tell a burning booster from a coasting body);
- data mode: the ``<__warnlink dataMode>`` mark, else EXERCISE for the exercise
  affiliations (``j`` joker, ``k`` faker), else the source's registered default. An
  exercise affiliation marked REAL is refused (``data_mode``): exercise data never
  becomes real.

Then the physical checks every source passes (finite numbers, latitude, longitude,
height, speed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from warnlink.errors import IngestError
from warnlink.estimation.radar_tracker import flight_phase
from warnlink.geo.wgs84 import as_vector3, enu_rotation, lla_to_ecef
from warnlink.model.covariance import pack_covariance
from warnlink.model.payloads import Phase
from warnlink.model.record import DataMode, SourceRecord
from warnlink.model.track_estimate import quality_from_sigma
from warnlink.sources import checks
from warnlink.sources.cot_decode import CotFields, decode_tak, decode_xml

#: The 1-sigma velocity error stated per axis for a CoT state, m/s: CoT carries none.
#: Deliberately loose: the order of a young radar track's velocity error, so that a
#: state fed over CoT never claims more than its source could know.
VELOCITY_SIGMA_MPS: Final = 100.0
#: The 1-sigma of the vertical velocity when the event gives no slope, m/s (the vertical
#: velocity is then 0): a ballistic missile climbs or falls at up to a few km/s.
UNKNOWN_CLIMB_SIGMA_MPS: Final = 2_000.0
#: The affiliations of exercise tracks: joker and faker.
EXERCISE_AFFILIATIONS: Final = frozenset({"j", "k"})


@dataclass(frozen=True, slots=True)
class CotSender:
    """Who sent a CoT event: the registered source, its party and its default data mode."""

    source: str
    party: str
    default_mode: DataMode


def record_from_xml(data: bytes, sender: CotSender) -> SourceRecord:
    """The record of one CoT XML event (see the module docstring).

    Raises:
        IngestError: the event is refused (its ``reason`` says why).
    """
    return record_from_fields(decode_xml(data), sender)


def record_from_tak(payload: bytes, sender: CotSender) -> SourceRecord:
    """The record of one TAK protocol message's payload (``TakMessage`` bytes).

    Raises:
        IngestError: the event is refused (its ``reason`` says why).
    """
    return record_from_fields(decode_tak(payload), sender)


def record_from_fields(fields: CotFields, sender: CotSender) -> SourceRecord:
    """The record of a decoded CoT event, checked.

    Raises:
        IngestError: ``not_finite``, ``latitude``, ``longitude``, ``altitude``,
            ``speed``, ``value`` or ``data_mode``.
    """
    lat = checks.latitude_of(fields.lat_deg, "point.lat")
    lon = checks.longitude_of(fields.lon_deg, "point.lon")
    hae = checks.finite_of(fields.hae_m, "point.hae")
    position = lla_to_ecef(lat, lon, hae)
    checks.require(checks.position_findings(position), "point.hae")
    rotation = enu_rotation(lat, lon)
    velocity = rotation.T @ _velocity_enu(fields)
    checks.require(checks.velocity_findings(velocity), "detail.track.speed")
    phase = fields.phase or Phase(flight_phase(np.concatenate([position, velocity])))
    ce, le = fields.ce_m, fields.le_m
    cov = None if ce is None or le is None else _covariance(rotation, ce, le, fields.slope_deg)
    return SourceRecord(
        source=sender.source,
        party=sender.party,
        track_id=fields.uid,
        epoch_ns=fields.epoch_ns,
        data_mode=_data_mode(fields, sender),
        pos_ecef_m=as_vector3(position),
        vel_ecef_mps=as_vector3(velocity),
        phase=phase,
        quality=0 if ce is None or le is None else quality_from_sigma(max(ce, le)),
        cov=cov,
    )


def _velocity_enu(fields: CotFields) -> np.ndarray:
    course = checks.finite_of(fields.course_deg, "detail.track.course")
    speed = checks.finite_of(fields.speed_mps, "detail.track.speed")
    slope = 0.0 if fields.slope_deg is None else fields.slope_deg
    checks.finite_of(slope, "detail.track.slope")
    if not 0.0 <= course <= 360.0:
        raise IngestError(
            f"course {course} outside [0, 360]", reason="value", field="detail.track.course"
        )
    if speed < 0.0:
        raise IngestError(f"speed {speed} is negative", reason="value", field="detail.track.speed")
    if not -90.0 <= slope <= 90.0:
        raise IngestError(
            f"slope {slope} outside [-90, 90]", reason="value", field="detail.track.slope"
        )
    horizontal = speed * math.cos(math.radians(slope))
    bearing = math.radians(course)
    return np.array(
        [
            horizontal * math.sin(bearing),
            horizontal * math.cos(bearing),
            speed * math.sin(math.radians(slope)),
        ]
    )


def _covariance(
    rotation: np.ndarray, ce_m: float, le_m: float, slope_deg: float | None
) -> tuple[float, ...]:
    """ENU diagonal (ce, ce, le; the stated velocity sigmas) rotated to ECEF, packed."""
    climb_sigma = VELOCITY_SIGMA_MPS if slope_deg is not None else UNKNOWN_CLIMB_SIGMA_MPS
    position_enu = np.diag([ce_m**2, ce_m**2, le_m**2])
    velocity_enu = np.diag([VELOCITY_SIGMA_MPS**2, VELOCITY_SIGMA_MPS**2, climb_sigma**2])
    cov = np.zeros((6, 6))
    cov[:3, :3] = rotation.T @ position_enu @ rotation
    cov[3:, 3:] = rotation.T @ velocity_enu @ rotation
    return pack_covariance(cov)


def _data_mode(fields: CotFields, sender: CotSender) -> DataMode:
    exercise = fields.affiliation in EXERCISE_AFFILIATIONS
    if fields.data_mode is None:
        return DataMode.EXERCISE if exercise else sender.default_mode
    if exercise and fields.data_mode is DataMode.REAL:
        raise IngestError(
            f"type {fields.kind} is an exercise track (joker/faker) but marked REAL",
            reason="data_mode",
            field="detail.__warnlink.dataMode",
        )
    return fields.data_mode
