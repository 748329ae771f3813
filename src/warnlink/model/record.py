"""What a national system hands its node: one track state at one instant, in absolute UTC.

Every input reaches a node as `SourceRecord`s, whatever carried them: the built-in
simulation, UDL MissileTrack over HTTPS or NATS, Cursor-on-Target from a TAK feed
(`warnlink.sources`). A record is the state vector of one of the source's tracks,
with its covariance when the source has one, and optionally the national system's
own assessment of the launch (point, time, area of uncertainty) and of the impact.

Frames and units are the node's: ECEF (WGS-84, rotating with the Earth) metres and
m/s, covariance 6x6 over (x, y, z, vx, vy, vz) as its 21 upper-triangle entries row
by row (`model.covariance`), times UTC integer nanoseconds. Adapters convert from
the wire (UDL's km, km/s and J2000 or UVW frames; CoT's lat/lon/hae) before a record
is made; `sources.checks` judges the physical plausibility of what they made.

`DataMode` says whether the data is real; it travels with every message derived
from the record, to every output (`Envelope.data_mode`).
"""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec

from warnlink.model.payloads import Covariance21, Ellipse, Latitude, Longitude, Phase, Vector3

#: A source's name: what its certificate names and its health is shown under.
SourceName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
#: The source's own identifier of a track (UDL ``trackId``, a CoT uid).
TrackId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class DataMode(enum.StrEnum):
    """Whether data is about the real world (UDL ``dataMode``).

    REAL: real-world objects and events. TEST: data to check a system or interface.
    EXERCISE: a government or military exercise (may be about real objects).
    SIMULATED: synthetic data made by a model.
    """

    REAL = "REAL"
    TEST = "TEST"
    EXERCISE = "EXERCISE"
    SIMULATED = "SIMULATED"


class NationalLaunch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The national system's own launch point and time.

    Attributes:
        lat_deg, lon_deg: WGS-84 geodetic launch point, degrees.
        time_ns: launch time, UTC ns.
        time_sigma_s: 1-sigma of the launch time, s (0 when the source gives none).
        aou: its 95 % area of uncertainty on the ground.
        alt_m: height of the launch point above the ellipsoid, m, when given.
    """

    lat_deg: Latitude
    lon_deg: Longitude
    time_ns: int
    time_sigma_s: Annotated[float, msgspec.Meta(ge=0.0)]
    aou: Ellipse
    alt_m: float | None = None


class NationalImpact(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The national system's own predicted impact point and time.

    Attributes:
        lat_deg, lon_deg: WGS-84 geodetic impact point, degrees.
        time_ns: predicted impact time, UTC ns.
        time_sigma_s: 1-sigma of the impact time, s (0 when the source gives none).
        aou: its 95 % area of uncertainty on the ground.
        confidence: the source's confidence in the prediction, 0 to 1, when given.
    """

    lat_deg: Latitude
    lon_deg: Longitude
    time_ns: int
    time_sigma_s: Annotated[float, msgspec.Meta(ge=0.0)]
    aou: Ellipse
    confidence: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] | None = None


class SourceRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One state of one of a source's tracks (see the module docstring).

    Attributes:
        source: the registered source that sent it.
        party: the party the source belongs to (a source writes only as its own party).
        track_id: the source's own id of the track.
        epoch_ns: event time of the state: when it was measured, UTC ns.
        data_mode: real, test, exercise or simulated data.
        pos_ecef_m, vel_ecef_mps: the state, ECEF, m and m/s.
        cov: its covariance, 21 upper-triangle entries (m, m/s), when the source has one.
        phase: the flight phase the source reports (``boost`` while it says boosting).
        quality: track quality 0 (worst) to 15 (best).
        sensor: the sensor that contributed the state, when named.
        ballistic_coefficient_kg_m2, ballistic_coefficient_sigma_kg_m2: an estimated
            beta = m / (Cd A) of the body and its 1-sigma, when the tracker has one.
        launch, impact: the national system's own assessments, when it sent them.
        lost: the source says it lost the track (UDL ``lostTrkInd``).
    """

    source: SourceName
    party: Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9_]{1,15}$")]
    track_id: TrackId
    epoch_ns: int
    data_mode: DataMode
    pos_ecef_m: Vector3
    vel_ecef_mps: Vector3
    phase: Phase
    quality: Annotated[int, msgspec.Meta(ge=0, le=15)]
    cov: Covariance21 | None = None
    sensor: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    ballistic_coefficient_kg_m2: float | None = None
    ballistic_coefficient_sigma_kg_m2: float | None = None
    launch: NationalLaunch | None = None
    impact: NationalImpact | None = None
    lost: bool = False
