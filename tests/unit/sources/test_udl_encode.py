"""What the UDL encoder writes, the UDL adapter reads back as the same records."""

from __future__ import annotations

import math

import msgspec
import numpy as np

from tests.conformance.source_suite import track
from warnlink.model.payloads import Ellipse, Phase
from warnlink.model.record import DataMode, NationalImpact, NationalLaunch
from warnlink.sources.udl import parse_batch
from warnlink.sources.udl_encode import iso_ns, udl_body


def test_records_round_trip_through_udl_json() -> None:
    sent = [msgspec.structs.replace(r, source="c2") for r in track("T7", DataMode.EXERCISE)]
    sent[0] = msgspec.structs.replace(
        sent[0],
        phase=Phase.BOOST,
        launch=NationalLaunch(
            39.1, 125.6, sent[0].epoch_ns - 90 * 10**9, 0.0, Ellipse(2e3, 1e3, 30.0)
        ),
        impact=NationalImpact(
            40.0, 136.0, sent[0].epoch_ns + 500 * 10**9, 0.0, Ellipse(9e3, 4e3, 75.0), 0.8
        ),
    )
    sent[-1] = msgspec.structs.replace(sent[-1], lost=True)
    records, refused = parse_batch(udl_body(sent), party="ROK", source="c2")
    assert refused == []
    assert len(records) == len(sent)
    for got, want in zip(records, sent, strict=True):
        assert (got.track_id, got.epoch_ns, got.data_mode, got.lost) == (
            want.track_id,
            want.epoch_ns,
            want.data_mode,
            want.lost,
        )
        assert math.dist(got.pos_ecef_m, want.pos_ecef_m) < 1e-6
        assert math.dist(got.vel_ecef_mps, want.vel_ecef_mps) < 1e-9
        assert got.cov is not None
        assert want.cov is not None
        np.testing.assert_allclose(got.cov, want.cov, rtol=1e-12)
    first = records[0]
    assert first.phase is Phase.BOOST
    assert first.launch is not None
    assert first.impact is not None
    assert first.launch.aou.semi_major_m == 2e3
    assert abs(first.launch.aou.orientation_deg - 30.0) < 1e-9
    assert first.impact.confidence is not None
    assert abs(first.impact.confidence - 0.8) < 1e-12


def test_times_keep_their_nanoseconds() -> None:
    assert iso_ns(1_800_000_000_123_456_789) == "2027-01-15T08:00:00.123456789Z"
