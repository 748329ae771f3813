"""UDL MissileTrack to source records: units, frames, phase, quality, assessments, answers."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import numpy as np
import pytest

from tests.conformance.source_suite import RecordingNode
from tests.udl_records import (
    COV21_KM,
    DROP,
    EPOCH_NS,
    POS_KM,
    POS_SIGMA_KM,
    VEL_KM_S,
    VEL_SIGMA_KM_S,
    body,
    diagonal_cov,
    record,
    vector,
)
from warnlink.counters import Counters
from warnlink.errors import IngestError
from warnlink.geo.wgs84 import lla_to_ecef
from warnlink.model.covariance import unpack_covariance
from warnlink.model.payloads import Phase
from warnlink.model.record import DataMode, SourceRecord
from warnlink.model.time import NS_PER_S, ManualClock
from warnlink.model.track_estimate import quality_from_sigma
from warnlink.sources import frames
from warnlink.sources.base import IngestAnswer, Refusal
from warnlink.sources.intake import Intake
from warnlink.sources.journal import MemoryJournal
from warnlink.sources.udl import ingest_udl, parse_batch, status_for

PARTY, SOURCE = "ROK", "rok-c2"


def parse(*records: object) -> tuple[list[SourceRecord], list[Refusal]]:
    return parse_batch(body(*records), party=PARTY, source=SOURCE)


def one(*records: object) -> SourceRecord:
    taken, refused = parse(*records)
    assert refused == []
    assert len(taken) == 1
    return taken[0]


def refusal(*records: object) -> Refusal:
    refused = parse(*records)[1]
    assert len(refused) == 1, refused
    return refused[0]


def iso(epoch_ns: int) -> str:
    seconds, ns = divmod(epoch_ns, NS_PER_S)
    whole = np.datetime64(seconds, "s").astype(str)
    return f"{whole}.{ns:09d}Z"


def test_a_record_becomes_a_source_record_in_si_units_and_ecef() -> None:
    r = one(record())
    assert r.source == SOURCE  # the authenticated name, not UDL's "source" field
    assert r.party == PARTY
    assert (r.track_id, r.epoch_ns, r.data_mode) == ("T-1", EPOCH_NS, DataMode.EXERCISE)
    assert r.pos_ecef_m == pytest.approx([x * 1000 for x in POS_KM], abs=1e-6)
    assert r.vel_ecef_mps == pytest.approx([v * 1000 for v in VEL_KM_S], abs=1e-9)
    assert r.cov is not None
    expected = np.diag([(POS_SIGMA_KM * 1000) ** 2] * 3 + [(VEL_SIGMA_KM_S * 1000) ** 2] * 3)
    assert unpack_covariance(r.cov) == pytest.approx(expected)
    assert r.sensor == "ROK-R1"
    assert (r.phase, r.launch, r.impact, r.lost) == (Phase.MIDCOURSE, None, None, False)
    # what it made satisfies the record's own constraints
    assert msgspec.json.decode(msgspec.json.encode(r), type=SourceRecord) == r


def test_nanoseconds_and_zone_offsets_are_kept() -> None:
    r = one(record(vectors=[vector(epoch="2026-11-24T09:10:05.123456789+09:00")]))
    assert r.epoch_ns == EPOCH_NS - 250_000_000 + 123_456_789


def test_every_vector_is_a_record_in_epoch_order_and_the_latest_carries_the_assessments() -> None:
    later = vector(epoch=iso(EPOCH_NS + 2 * NS_PER_S))
    middle = vector(epoch=iso(EPOCH_NS + NS_PER_S))
    taken = parse(record(vectors=[later, vector(), middle], **_LAUNCH, lostTrkInd=True))[0]
    assert [r.epoch_ns for r in taken] == [EPOCH_NS + k * NS_PER_S for k in range(3)]
    assert [r.launch is not None for r in taken] == [False, False, True]
    assert [r.lost for r in taken] == [False, False, True]


def test_a_batch_comes_out_in_epoch_order() -> None:
    late = record(trackId="B", vectors=[vector(epoch=iso(EPOCH_NS + NS_PER_S))])
    early = record(trackId="A")
    assert [r.track_id for r in parse(late, early)[0]] == ["A", "B"]


def test_phase_is_boost_while_boosting_then_by_height_and_descent() -> None:
    assert one(record(boosting=True)).phase == Phase.BOOST
    low = [x / 1000 for x in lla_to_ecef(40.0, 133.0, 50_000.0)]
    down = [-v for v in VEL_KM_S]
    assert one(record(vectors=[vector(pos=low, vel=down)])).phase == Phase.TERMINAL
    assert one(record(vectors=[vector(pos=low)])).phase == Phase.MIDCOURSE  # climbing
    assert one(record(vectors=[vector(vel=down)])).phase == Phase.MIDCOURSE  # high


def test_quality_is_udls_else_from_the_covariance_else_zero() -> None:
    assert one(record(trkQual=4)).quality == 4
    assert one(record()).quality == quality_from_sigma(POS_SIGMA_KM * 1000)
    assert one(record(vectors=[vector(cov=DROP)])).quality == 0


def test_missile_status_lost_is_a_lost_track() -> None:
    assert one(record(mslStatus="LOST")).lost
    assert not one(record(mslStatus="FLYING")).lost


_LAUNCH = {
    "launchLat": 39.2,
    "launchLon": 125.7,
    "launchAlt": 0.05,
    "launchTime": "2026-11-24T00:08:00Z",
    "launchAouType": "ELLIPSE",
    "launchAouData": [30.0, 5.0, 2.0],
}
_IMPACT = {
    "impactLat": 40.4,
    "impactLon": 136.1,
    "impactTime": "2026-11-24T00:12:49.5Z",
    "impactAouType": "ELLIPSE",
    "impactAouData": [200.0, 3.0, 1.0],
    "impactConf": 80.0,
}


def test_launch_and_impact_assessments_in_si_with_95_percent_ellipses() -> None:
    r = one(record(**_LAUNCH, **_IMPACT))
    assert r.launch is not None
    assert r.impact is not None
    assert (r.launch.lat_deg, r.launch.lon_deg, r.launch.alt_m) == (39.2, 125.7, 50.0)
    assert r.launch.time_ns == EPOCH_NS - 125_250_000_000
    assert (r.launch.aou.semi_major_m, r.launch.aou.semi_minor_m) == (5000.0, 2000.0)
    assert r.launch.aou.orientation_deg == 30.0
    assert r.impact.time_ns == EPOCH_NS + 164_250_000_000
    assert r.impact.aou.orientation_deg == 20.0  # 200 degrees is the same axis as 20
    assert r.impact.confidence == pytest.approx(0.8)


def test_semi_axes_the_wrong_way_round_are_the_same_ellipse() -> None:
    r = one(record(**{**_LAUNCH, "launchAouData": [170.0, 2.0, 5.0]}))
    assert r.launch is not None
    aou = r.launch.aou
    assert (aou.semi_major_m, aou.semi_minor_m, aou.orientation_deg) == (5000.0, 2000.0, 80.0)


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"launchTime": DROP}, "[0].launchTime", "required"),
        ({"launchAouType": DROP, "launchAouData": DROP}, "[0].launchAouType", "required"),
        ({"launchAouType": "BEARING"}, "[0].launchAouType", "value"),
        ({"launchAouData": [0.0, -1.0, 1.0]}, "[0].launchAouData", "value"),
        ({"launchTime": "yesterday"}, "[0].launchTime", "epoch"),
        ({"launchAlt": -3.0}, "[0].launchAlt", "altitude"),
    ],
)
def test_an_assessment_is_whole_with_an_ellipse_or_refused(
    changes: dict[str, object], field: str, reason: str
) -> None:
    refused = refusal(record(**{**_LAUNCH, **changes}))
    assert (refused.index, refused.field, refused.reason) == (0, field, reason)


def test_a_45_value_covariance_gives_its_position_velocity_block() -> None:
    cov45 = diagonal_cov(*[POS_SIGMA_KM**2] * 3, *[VEL_SIGMA_KM_S**2] * 3, *[1e-6] * 3)
    assert one(record(vectors=[vector(cov=cov45)])).cov == one(record()).cov


def test_a_45_value_covariance_is_checked_whole_as_given() -> None:
    cov = unpack_covariance(diagonal_cov(*[0.04] * 3, *[1e-4] * 3, *[1e-6] * 3), 9)
    cov[0, 8] = cov[8, 0] = 1.0  # position-acceleration correlation above 1: indefinite
    values = cov[np.triu_indices(9)].tolist()
    refused = refusal(record(vectors=[vector(cov=values)]))
    assert (refused.field, refused.reason) == ("[0].vectors[0].cov", "covariance")
    assert refused.message.startswith("as given")


def test_j2000_state_and_covariance_go_to_ecef_with_the_states_jacobian() -> None:
    r = one(record(vectors=[vector(referenceFrame="J2000", covReferenceFrame="J2000")]))
    jac = frames.j2000_to_ecef_jacobian(EPOCH_NS)
    state = np.array([*POS_KM, *VEL_KM_S]) * 1000
    assert np.array([*r.pos_ecef_m, *r.vel_ecef_mps]) == pytest.approx(jac @ state, abs=1e-6)
    assert r.cov is not None
    given = unpack_covariance(COV21_KM) * 1e6
    assert unpack_covariance(r.cov) == pytest.approx(jac @ given @ jac.T, rel=1e-12, abs=1e-9)


def test_an_ecef_covariance_with_j2000_vectors_stays_as_given() -> None:
    r = one(record(vectors=[vector(referenceFrame="J2000")]))
    assert r.cov == one(record()).cov


def test_a_uvw_covariance_is_laid_on_the_states_own_axes() -> None:
    sigma_u, sigma_v, sigma_w = 0.1, 0.5, 0.2
    cov = diagonal_cov(sigma_u**2, sigma_v**2, sigma_w**2, 1e-4, 1e-4, 1e-4)
    r = one(record(vectors=[vector(cov=cov, covReferenceFrame=DROP)]))  # absent: UVW
    assert r.cov is not None
    p = unpack_covariance(r.cov)
    pos, vel = np.array(r.pos_ecef_m), np.array(r.vel_ecef_mps)
    u = pos / np.linalg.norm(pos)
    w = np.cross(pos, vel) / np.linalg.norm(np.cross(pos, vel))
    v = np.cross(w, u)
    for axis, sigma_km in ((u, sigma_u), (v, sigma_v), (w, sigma_w)):
        assert axis @ p[:3, :3] @ axis == pytest.approx((sigma_km * 1000) ** 2)
    assert u @ p[:3, :3] @ v == pytest.approx(0.0, abs=1e-6)


def test_a_covariance_that_overflows_in_metres_is_refused_after_conversion() -> None:
    refused = refusal(record(vectors=[vector(cov=diagonal_cov(*[1e305] * 6))]))
    assert (refused.field, refused.reason) == ("[0].vectors[0].cov", "not_finite")
    assert refused.message.startswith("in ECEF")


def test_every_bad_record_is_named_and_good_ones_are_still_parsed() -> None:
    good, bad_time, bad_frame = (
        record(),
        record(ts="now"),
        record(vectors=[vector(referenceFrame="TEME")]),
    )
    taken, refused = parse(bad_time, good, bad_frame)
    assert [(r.index, r.field, r.reason) for r in refused] == [
        (0, "[0].ts", "epoch"),
        (2, "[2].vectors[0].referenceFrame", "frame"),
    ]
    assert len(taken) == 1


class _Sink:
    """An in-memory RecordSink that keeps what it was given."""

    def __init__(self, answer: IngestAnswer | None = None, error: IngestError | None = None):
        self.batches: list[tuple[str, list[SourceRecord]]] = []
        self.answer = answer
        self.error = error

    async def take(self, source: str, records: Sequence[SourceRecord]) -> IngestAnswer:
        if self.error is not None:
            raise self.error
        self.batches.append((source, list(records)))
        return self.answer or IngestAnswer(accepted=len(records))


async def test_ingest_gives_a_clean_batch_to_the_sink_and_answers_200() -> None:
    sink, counters = _Sink(), Counters()
    status, answer = await ingest_udl(sink, SOURCE, PARTY, body(), counters=counters)
    assert (status, answer) == (200, {"accepted": 1, "duplicates": 0, "refused": []})
    assert [(s, len(r)) for s, r in sink.batches] == [(SOURCE, 1)]
    assert counters.as_dict() == {}


async def test_ingest_refuses_a_bad_batch_whole_and_counts_each_refusal() -> None:
    sink, counters = _Sink(), Counters()
    bad = body(record(), record(ts="never"), record(dataMode="LIVE"))
    status, answer = await ingest_udl(sink, SOURCE, PARTY, bad, counters=counters)
    assert status == 400
    assert sink.batches == []
    assert answer["accepted"] == 0
    assert [(r["index"], r["reason"]) for r in answer["refused"]] == [
        (1, "epoch"),
        (2, "data_mode"),
    ]  # type: ignore[attr-defined]
    assert counters.as_dict() == {"ingest_rejected.data_mode": 1, "ingest_rejected.epoch": 1}


async def test_the_sinks_refusals_are_answered_and_left_for_the_sink_to_count() -> None:
    """The intake counts what it refuses, for every port: counting it here again would
    count it twice."""
    stale = Refusal(0, "[0].vectors[0].epoch", "stale", "older than the window")
    counters = Counters()
    status, answer = await ingest_udl(
        _Sink(IngestAnswer(refused=(stale,))), SOURCE, PARTY, body(), counters=counters
    )
    assert (status, answer["refused"]) == (400, [stale.as_json()])
    assert counters.get("ingest_rejected.stale") == 0
    flooded = _Sink(error=IngestError("slow down", reason="flood"))
    status, answer = await ingest_udl(flooded, SOURCE, PARTY, body(), counters=counters)
    assert status == 429
    assert counters.get("ingest_rejected.flood") == 1


async def test_with_the_nodes_intake_each_refusal_is_counted_once() -> None:
    counters = Counters()
    clock = ManualClock(EPOCH_NS + 3600 * NS_PER_S)  # the record is an hour old
    intake = Intake(
        PARTY, MemoryJournal(), RecordingNode(), clock, window_s=300.0, counters=counters
    )
    status, answer = await ingest_udl(intake, SOURCE, PARTY, body(), counters=counters)
    assert (status, [r["reason"] for r in answer["refused"]]) == (400, ["stale"])  # type: ignore[index]
    assert counters.as_dict() == {"ingest_rejected.stale": 1}


async def test_the_sinks_refusals_name_the_missile_track_and_field_the_source_sent() -> None:
    """The sink sees the records in epoch order; the source is told of its own records."""
    later, earlier = "2026-11-24T00:10:06Z", "2026-11-24T00:10:04Z"
    data = body(
        record(trackId="A", vectors=[vector(epoch=later), vector(epoch=earlier)]),
        record(trackId="B", vectors=[vector(epoch="2026-11-24T00:10:05Z")]),
    )
    sink = _Sink(
        IngestAnswer(
            refused=(
                Refusal(0, "", "stale", "A's earlier state"),
                Refusal(1, "", "mode_changed", "B"),
                Refusal(2, "", "party", "A's later state"),
            )
        )
    )
    status, answer = await ingest_udl(sink, SOURCE, PARTY, data)
    [(_, given)] = sink.batches
    assert [r.track_id for r in given] == ["A", "B", "A"]  # A's earlier state first
    assert status == 400
    assert [(r["index"], r["field"], r["reason"]) for r in answer["refused"]] == [  # type: ignore[attr-defined]
        (0, "[0].vectors[1].epoch", "stale"),
        (1, "[1].dataMode", "mode_changed"),
        (0, "[0].vectors[0]", "party"),
    ]


@pytest.mark.parametrize(
    ("reasons", "status"),
    [
        ((), 200),
        (("epoch",), 400),
        (("epoch", "too_many"), 413),
        (("too_large",), 413),
        (("content_type",), 415),
        (("slow",), 408),
        (("unauthenticated",), 401),
        (("revoked",), 403),
        (("unregistered",), 403),
        (("flood",), 429),
    ],
)
def test_status_for_the_refusals(reasons: tuple[str, ...], status: int) -> None:
    assert status_for([Refusal(None, "", r, "") for r in reasons]) == status


def test_parsing_is_pure() -> None:
    data = body(record(**_LAUNCH, **_IMPACT), record(trackId="T-2"))
    assert parse_batch(data, party=PARTY, source=SOURCE) == parse_batch(
        data, party=PARTY, source=SOURCE
    )
