"""The accepted subset of UDL MissileTrack, as the node decodes it (``createBulk`` bodies).

Field names, units and meanings are the Unified Data Library's (the official client,
``udl-sdk``, documents them in ``missile_track_create_bulk_params.py``): positions in
km, velocities in km/s, accelerations in km/s^2, ``cov`` the upper triangle of the
covariance row by row in km and s units, times ISO 8601 UTC.

Three kinds of field:

- used: decoded, checked and mapped to `model.record.SourceRecord` (`sources.udl`);
- known and ignored: every other field UDL's MissileTrack defines (``alert``,
  ``callSign``, ``contextKeys``...), so that what udl-sdk sends is taken unchanged;
  their JSON types are checked (a string where UDL has a number is refused) and their
  values dropped;
- unknown: any other name is refused (``unknown_field``): a misspelt field would
  otherwise be silently lost.

``trackId``, ``vectors`` and a vector's ``pos`` and ``vel`` are optional in UDL and
required here: a node keeps a track by its source's id, and a record without a state
vector carries no track.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

import msgspec

from warnlink.model.payloads import Latitude, Longitude
from warnlink.model.record import DataMode

#: The covariance frames UDL names (``covReferenceFrame``); `HANDLED_COV_FRAMES` are taken.
UDL_COV_FRAMES: Final = ("J2000", "UVW", "EFG/TDR", "ECR/ECEF", "TEME", "GCRF")
#: The covariance frames this port converts; absent means UVW (UDL's default).
HANDLED_COV_FRAMES: Final = ("ECR/ECEF", "J2000", "UVW")
#: The state vector frames this port converts (``referenceFrame``); absent means ECEF.
HANDLED_FRAMES: Final = ("ECEF", "J2000")
#: The area-of-uncertainty type this port takes for launch and impact points.
ELLIPSE: Final = "ELLIPSE"


def _doc(text: str) -> msgspec.Meta:
    return msgspec.Meta(description=text)


Km3 = tuple[float, float, float]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Iso = Annotated[
    str, msgspec.Meta(max_length=64, description="ISO 8601 UTC, e.g. 2026-11-24T00:10:05.123456Z")
]
# Known UDL fields this port does not use: type-checked, then dropped.
_IgnoredText = Annotated[str | None, _doc("UDL field; accepted, not used")]
_IgnoredNumber = Annotated[float | None, _doc("UDL field; accepted, not used")]
_IgnoredFlag = Annotated[bool | None, _doc("UDL field; accepted, not used")]
_IgnoredTexts = Annotated[list[str] | None, _doc("UDL field; accepted, not used")]
_IgnoredNumbers = Annotated[list[float] | None, _doc("UDL field; accepted, not used")]


class MissileTrackVector(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """One state vector of a missile track (UDL ``MissileTrackVector``)."""

    epoch: Annotated[Iso, _doc("time of the state, ISO 8601 UTC")]
    pos: Annotated[Km3, _doc("position, km, in referenceFrame (required here)")]
    vel: Annotated[
        tuple[float, float, float], _doc("velocity, km/s, in referenceFrame (required here)")
    ]
    accel: Annotated[
        tuple[float, float, float] | None, _doc("acceleration, km/s^2; accepted, not used")
    ] = None
    cov: Annotated[
        Annotated[list[float], msgspec.Meta(min_length=21, max_length=45)] | None,
        _doc(
            "upper triangle, row by row, of the 6x6 position-velocity (21 values) or 9x9 "
            "position-velocity-acceleration (45 values) covariance, km and s units, in "
            "covReferenceFrame; symmetric positive semi-definite"
        ),
    ] = None
    cov_reference_frame: Annotated[
        str | None,
        _doc("frame of cov: ECR/ECEF, J2000 or UVW (radial, in-track, cross-track); absent: UVW"),
    ] = None
    reference_frame: Annotated[
        str | None, _doc("frame of pos, vel, accel: ECEF or J2000; absent: ECEF")
    ] = None
    id_sensor: Annotated[
        Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None,
        _doc("the sensor that contributed the state"),
    ] = None
    confidence: _IgnoredNumber = None
    context_keys: _IgnoredTexts = None
    context_values: _IgnoredTexts = None
    course: _IgnoredNumber = None
    flight_az: _IgnoredNumber = None
    object: _IgnoredText = None
    orig_sensor_id: _IgnoredText = None
    propagated: _IgnoredFlag = None
    quat: _IgnoredNumbers = None
    range: _IgnoredNumber = None
    spd: _IgnoredNumber = None
    status: _IgnoredText = None
    time_source: _IgnoredText = None
    type: _IgnoredText = None
    vector_alt: _IgnoredNumber = None
    vector_lat: _IgnoredNumber = None
    vector_lon: _IgnoredNumber = None
    vector_track_id: _IgnoredText = None


Aou = Annotated[
    tuple[float, float, float] | None,
    _doc(
        "with type ELLIPSE: [orientation of the major axis, degrees clockwise from true "
        "north; semi-major axis, km; semi-minor axis, km], taken as a 95 % ellipse"
    ),
]


class MissileTrack(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """One UDL MissileTrack record: a track's state vectors and the system's assessments."""

    classification_marking: Annotated[
        Text, _doc("classification marking (IC/CAPCO portion marking)")
    ]
    data_mode: Annotated[DataMode, _doc("REAL, TEST, EXERCISE or SIMULATED")]
    source: Annotated[
        Text, _doc("UDL's source name; the node takes the source from the client certificate")
    ]
    ts: Annotated[Iso, _doc("receipt time of the data by the sending system, ISO 8601 UTC")]
    track_id: Annotated[
        str,
        msgspec.Meta(
            min_length=1, max_length=128, description="the source's track id (required here)"
        ),
    ]
    vectors: Annotated[
        list[MissileTrackVector],
        msgspec.Meta(
            min_length=1,
            description="state vectors (at least one); the latest is the track's state",
        ),
    ]
    launch_lat: Annotated[Latitude | None, _doc("launch point, WGS-84 latitude, degrees")] = None
    launch_lon: Annotated[Longitude | None, _doc("launch point, WGS-84 longitude, degrees")] = None
    launch_alt: Annotated[
        float | None, _doc("launch point height above the WGS-84 ellipsoid, km")
    ] = None
    launch_time: Annotated[Iso | None, _doc("launch time, ISO 8601 UTC")] = None
    launch_aou_type: Annotated[Text | None, _doc("type of launchAouData: ELLIPSE")] = None
    launch_aou_data: Aou = None
    impact_lat: Annotated[
        Latitude | None, _doc("predicted impact point, WGS-84 latitude, degrees")
    ] = None
    impact_lon: Annotated[
        Longitude | None, _doc("predicted impact point, WGS-84 longitude, degrees")
    ] = None
    impact_time: Annotated[Iso | None, _doc("predicted impact time, ISO 8601 UTC")] = None
    impact_aou_type: Annotated[Text | None, _doc("type of impactAouData: ELLIPSE")] = None
    impact_aou_data: Aou = None
    impact_conf: Annotated[
        Annotated[float, msgspec.Meta(ge=0.0, le=100.0)] | None,
        _doc("confidence in the impact prediction, percent"),
    ] = None
    acft_sub_type: Annotated[Text | None, _doc("missile subtype (SRBM, MRBM, IRBM, ICBM...)")] = (
        None
    )
    obj_ident: Annotated[Text | None, _doc("identity (HOSTILE, SUSPECT, UNKNOWN...)")] = None
    msl_status: Annotated[Text | None, _doc("missile status (FLYING, IMPACTED, LOST...)")] = None
    lost_trk_ind: Annotated[bool | None, _doc("the source lost the track")] = None
    boosting: Annotated[bool | None, _doc("the missile is boosting (phase boost)")] = None
    trk_qual: Annotated[
        Annotated[int, msgspec.Meta(ge=0, le=15)] | None,
        _doc("track quality 0 (worst) to 15; absent: from the covariance"),
    ] = None
    id: _IgnoredText = None
    alert: _IgnoredText = None
    ang_elev: _IgnoredNumber = None
    aou_rpt_data: _IgnoredNumbers = None
    aou_rpt_type: _IgnoredText = None
    az_corr: _IgnoredNumber = None
    burnout_alt: _IgnoredNumber = None
    call_sign: _IgnoredText = None
    containment: _IgnoredNumber = None
    context_keys: _IgnoredTexts = None
    context_values: _IgnoredTexts = None
    created_at: _IgnoredText = None
    created_by: _IgnoredText = None
    drop_pt_ind: _IgnoredFlag = None
    emg_ind: _IgnoredFlag = None
    env: _IgnoredText = None
    impact_alt: _IgnoredNumber = None
    info_source: _IgnoredText = None
    launch_az: _IgnoredNumber = None
    launch_az_unc: _IgnoredNumber = None
    launch_conf: _IgnoredNumber = None
    maneuver_end: _IgnoredText = None
    maneuver_start: _IgnoredText = None
    msg_create_date: _IgnoredText = None
    msg_sub_type: _IgnoredText = None
    msg_type: _IgnoredText = None
    muid_src: _IgnoredText = None
    muid_src_trk: _IgnoredText = None
    name: _IgnoredText = None
    obj_act: _IgnoredText = None
    obj_plat: _IgnoredText = None
    obj_type: _IgnoredText = None
    obj_type_conf: _IgnoredNumber = None
    orig_network: _IgnoredText = None
    origin: _IgnoredText = None
    parent_track_id: _IgnoredText = None
    polar_sing_loc_lat: _IgnoredNumber = None
    polar_sing_loc_lon: _IgnoredNumber = None
    sen_mode: _IgnoredText = None
    space_amp: _IgnoredText = None
    space_amp_conf: _IgnoredNumber = None
    space_spec_type: _IgnoredText = None
    trk_conf: _IgnoredNumber = None


def ingest_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of a ``createBulk`` body this port takes."""
    schema = msgspec.json.schema(list[MissileTrack])
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "warnlink ingest: UDL MissileTrack createBulk body (accepted subset)"
    return schema
