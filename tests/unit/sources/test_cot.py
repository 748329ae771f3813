"""CoT in: each field of a missile's CoT event mapped to its record, each refusal, both encodings.

TAK protocol messages are made from the XML by `takproto`, the library TAK clients use.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import takproto
from takproto.proto import TakMessage

from tests.cot_events import START_NS, missile_event, other_event
from warnlink.errors import IngestError
from warnlink.geo.wgs84 import ecef_to_lla, enu_rotation, lla_to_ecef
from warnlink.model.covariance import unpack_covariance
from warnlink.model.payloads import Phase
from warnlink.model.record import DataMode, SourceRecord
from warnlink.sources.base import REASONS
from warnlink.sources.cot import (
    UNKNOWN_CLIMB_SIGMA_MPS,
    VELOCITY_SIGMA_MPS,
    CotSender,
    record_from_tak,
    record_from_xml,
)
from warnlink.sources.cot_decode import tak_payload

SENDER = CotSender("tak-a", "JPN", DataMode.REAL)


def _tak(xml: bytes) -> bytes:
    """The TAK protocol (stream form) payload of a CoT XML event, as pytak sends it."""
    return tak_payload(bytes(takproto.xml2proto(xml, takproto.TAKProtoVer.STREAM)))


def _refusal(xml: bytes, *, tak: bool = False) -> IngestError:
    payload = _tak(xml) if tak else xml
    with pytest.raises(IngestError) as caught:
        (record_from_tak if tak else record_from_xml)(payload, SENDER)
    assert caught.value.reason in REASONS
    return caught.value


def _enu(record: SourceRecord) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Velocity and the two 3x3 covariance blocks in the record's local ENU frame."""
    lat, lon, _ = ecef_to_lla(np.array(record.pos_ecef_m))
    rotation = enu_rotation(float(lat), float(lon))
    assert record.cov is not None
    cov = unpack_covariance(record.cov)
    velocity = rotation @ np.array(record.vel_ecef_mps)
    return (
        velocity,
        rotation @ cov[:3, :3] @ rotation.T,
        rotation @ cov[3:, 3:] @ rotation.T,
    )


@pytest.mark.parametrize("tak", [False, True], ids=["xml", "takproto"])
def test_a_missile_event_becomes_its_record(tak: bool) -> None:
    xml = missile_event()
    record = record_from_tak(_tak(xml), SENDER) if tak else record_from_xml(xml, SENDER)
    assert (record.source, record.party, record.track_id) == ("tak-a", "JPN", "tak-a.track-1")
    assert record.epoch_ns == START_NS
    assert record.data_mode is DataMode.REAL
    np.testing.assert_allclose(record.pos_ecef_m, lla_to_ecef(39.5, 134.25, 250_000.0))
    velocity, position_cov, velocity_cov = _enu(record)
    if tak:  # the TAK protocol's track has no slope: level flight, climb unknown
        np.testing.assert_allclose(velocity, [3000.0, 0.0, 0.0], atol=1e-6)
        climb_sigma = UNKNOWN_CLIMB_SIGMA_MPS
    else:
        horizontal = 3000.0 * math.cos(math.radians(10.0))
        up = 3000.0 * math.sin(math.radians(10.0))
        np.testing.assert_allclose(velocity, [horizontal, 0.0, up], atol=1e-6)
        climb_sigma = VELOCITY_SIGMA_MPS
    np.testing.assert_allclose(position_cov, np.diag([150.0**2, 150.0**2, 300.0**2]), atol=1e-6)
    sigmas = [VELOCITY_SIGMA_MPS**2, VELOCITY_SIGMA_MPS**2, climb_sigma**2]
    np.testing.assert_allclose(velocity_cov, np.diag(sigmas), atol=1e-6)
    assert record.phase is Phase.MIDCOURSE
    assert record.quality == 8  # 300 m: 15 - 2 log2(300 / 25) = 7.8


def test_course_is_from_true_north_and_slope_below_the_horizon_descends() -> None:
    record = record_from_xml(
        missile_event(track={"course": "225", "speed": "2000", "slope": "-30"}), SENDER
    )
    velocity, _, _ = _enu(record)
    horizontal = 2000.0 * math.cos(math.radians(30.0))
    expected = [-horizontal / math.sqrt(2.0), -horizontal / math.sqrt(2.0), -1000.0]
    np.testing.assert_allclose(velocity, expected, atol=1e-6)


def test_start_is_the_epoch_and_time_stands_in_without_it() -> None:
    assert record_from_xml(missile_event(), SENDER).epoch_ns == START_NS
    only_time = missile_event(start=None, time="2026-11-24T00:01:00.123456789Z")
    assert record_from_xml(only_time, SENDER).epoch_ns == START_NS - 250_000_000 + 123_456_789
    with_offset = missile_event(start="2026-11-24T00:01:00.25+00:00")
    assert record_from_xml(with_offset, SENDER).epoch_ns == START_NS


def test_unknown_errors_give_no_covariance_and_quality_zero() -> None:
    for point in ({"ce": "9999999.0"}, {"le": "9999999"}, {"ce": "0"}):
        record = record_from_xml(missile_event(point=point), SENDER)
        assert record.cov is None
        assert record.quality == 0


def test_phase_is_the_mark_else_from_height_and_climb() -> None:
    marked = missile_event(marks={"phase": "boost"})
    assert record_from_xml(marked, SENDER).phase is Phase.BOOST
    falling_low = missile_event(point={"hae": "60000"}, track={"slope": "-40"})
    assert record_from_xml(falling_low, SENDER).phase is Phase.TERMINAL
    climbing_low = missile_event(point={"hae": "60000"}, track={"slope": "40"})
    assert record_from_xml(climbing_low, SENDER).phase is Phase.MIDCOURSE


@pytest.mark.parametrize("tak", [False, True], ids=["xml", "takproto"])
def test_data_mode_is_the_mark_else_exercise_for_joker_and_faker_else_the_default(
    tak: bool,
) -> None:
    def mode(xml: bytes, default: DataMode = DataMode.REAL) -> DataMode:
        sender = CotSender("tak-a", "JPN", default)
        record = record_from_tak(_tak(xml), sender) if tak else record_from_xml(xml, sender)
        return record.data_mode

    assert mode(missile_event(marks={"dataMode": "TEST"})) is DataMode.TEST
    assert mode(missile_event(kind="a-j-A-W-M")) is DataMode.EXERCISE
    assert mode(missile_event(kind="a-k-A-W-M-S-S")) is DataMode.EXERCISE
    simulated = missile_event(kind="a-j-A-W-M", marks={"dataMode": "SIMULATED"})
    assert mode(simulated) is DataMode.SIMULATED
    assert mode(missile_event(), DataMode.EXERCISE) is DataMode.EXERCISE
    assert mode(missile_event()) is DataMode.REAL


@pytest.mark.parametrize(
    "kind", ["a-f-G-U-C", "a-h-G", "a-u-A-W-M-S-S", "a-h-A-M-F", "b-m-p-s-p-i", "a-h-A-W-MX"]
)
@pytest.mark.parametrize("tak", [False, True], ids=["xml", "takproto"])
def test_anything_but_a_hostile_missile_is_refused(kind: str, tak: bool) -> None:
    assert _refusal(other_event(kind=kind), tak=tak).reason == "not_a_missile"


def test_a_tak_message_without_a_cot_event_is_not_a_missile() -> None:
    message = TakMessage()
    message.takControl.minProtoVersion = 1
    with pytest.raises(IngestError) as caught:
        record_from_tak(message.SerializeToString(), SENDER)
    assert caught.value.reason == "not_a_missile"


REFUSALS = [
    # (what is changed, reason, field)
    ({"drop": ("type",)}, "required", "type"),
    ({"drop": ("uid",)}, "required", "uid"),
    ({"uid": "u" * 129}, "value", "uid"),
    ({"drop": ("point",)}, "required", "point"),
    ({"drop": ("track",)}, "required", "detail.track"),
    ({"drop": ("detail",)}, "required", "detail"),
    ({"drop": ("start", "time")}, "required", "time"),
    ({"start": "yesterday"}, "epoch", "start"),
    ({"start": "2026-11-24T09:01:00"}, "epoch", "start"),  # no zone: which time?
    ({"start": "2026-11-24T00:01:00"}, "epoch", "start"),
    ({"start": "2026-02-30T00:01:00Z"}, "epoch", "start"),
    ({"point": {"lat": "north"}}, "shape", "point.lat"),
    ({"point": {"lat": "1_0"}}, "shape", "point.lat"),
    ({"point": {"lon": "NaN"}}, "not_finite", "point.lon"),
    ({"point": {"hae": "1e999"}}, "not_finite", "point.hae"),
    ({"point": {"ce": "inf"}}, "not_finite", "point.ce"),
    ({"point": {"le": "-5"}}, "value", "point.le"),
    ({"point": {"lat": "90.5"}}, "latitude", "point.lat"),
    ({"point": {"lon": "-180.5"}}, "longitude", "point.lon"),
    ({"point": {"hae": "-2000"}}, "altitude", "point.hae"),
    ({"point": {"hae": "5.1e7"}}, "altitude", "point.hae"),
    ({"track": {"speed": "12000.5"}}, "speed", "detail.track.speed"),
    ({"track": {"speed": "-1"}}, "value", "detail.track.speed"),
    ({"track": {"course": "361"}}, "value", "detail.track.course"),
    ({"track": {"slope": "95"}}, "value", "detail.track.slope"),
    ({"track": {"course": ""}}, "shape", "detail.track.course"),
    ({"marks": {"phase": "cruise"}}, "value", "detail.__warnlink.phase"),
    ({"marks": {"dataMode": "real"}}, "data_mode", "detail.__warnlink.dataMode"),
    (
        {"kind": "a-j-A-W-M", "marks": {"dataMode": "REAL"}},
        "data_mode",
        "detail.__warnlink.dataMode",
    ),
]


@pytest.mark.parametrize(("change", "reason", "field"), REFUSALS, ids=lambda v: str(v)[:40])
def test_each_refusal_names_its_reason_and_field(
    change: dict[str, object], reason: str, field: str
) -> None:
    error = _refusal(missile_event(**change))  # type: ignore[arg-type]
    assert (error.reason, error.field) == (reason, field)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"drop": ("track",)}, "required"),
        ({"point": {"lat": "95"}}, "latitude"),
        ({"track": {"speed": "13000"}}, "speed"),
        ({"marks": {"dataMode": "LIVE"}}, "data_mode"),
        ({"drop": ("start", "time")}, "epoch"),
    ],
)
def test_the_tak_protocol_is_checked_alike(change: dict[str, object], reason: str) -> None:
    assert _refusal(missile_event(**change), tak=True).reason == reason  # type: ignore[arg-type]


HOSTILE_XML = {
    "billion laughs": (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        b'<event uid="&lol3;" type="a-h-A-W-M"/>'
    ),
    "external entity": (
        b'<?xml version="1.0"?><!DOCTYPE event [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<event uid="&x;" type="a-h-A-W-M"/>'
    ),
    "undefined entity": b'<event uid="&x;" type="a-h-A-W-M"/>',
    "not well-formed": b'<event uid="a" type="a-h-A-W-M"><point></event>',
    "another root": b"<html><body/></html>",
    "garbage": b"\x00\xff\xfe garbage",
}


@pytest.mark.parametrize("xml", HOSTILE_XML.values(), ids=HOSTILE_XML.keys())
def test_hostile_xml_is_refused_as_not_xml(xml: bytes) -> None:
    assert _refusal(xml).reason == "not_xml"


@pytest.mark.parametrize(
    "payload",
    [
        b"\xff\xff\xff\xff",  # not protobuf
        _tak(missile_event())[:-5],  # truncated
        b"\x12\x80\x80\x80\x80\x10",  # a length beyond the end
    ],
    ids=["garbage", "truncated", "overlong"],
)
def test_a_broken_tak_payload_is_refused_as_not_xml(payload: bytes) -> None:
    with pytest.raises(IngestError) as caught:
        record_from_tak(payload, SENDER)
    assert caught.value.reason == "not_xml"


def test_tak_xml_detail_with_a_dtd_is_refused() -> None:
    message = TakMessage()
    message.ParseFromString(_tak(missile_event()))
    message.cotEvent.detail.xmlDetail = '<!DOCTYPE x [<!ENTITY e "e">]><__warnlink phase="&e;"/>'
    with pytest.raises(IngestError) as caught:
        record_from_tak(message.SerializeToString(), SENDER)
    assert caught.value.reason == "not_xml"


def test_tak_payload_takes_the_stream_and_the_mesh_forms() -> None:
    xml = missile_event()
    stream = bytes(takproto.xml2proto(xml, takproto.TAKProtoVer.STREAM))
    mesh = bytes(takproto.xml2proto(xml, takproto.TAKProtoVer.MESH))
    assert tak_payload(stream) == tak_payload(mesh)
    for broken in (stream[:-1], b"<event/>", b"\xbf"):
        with pytest.raises(IngestError):
            tak_payload(broken)
