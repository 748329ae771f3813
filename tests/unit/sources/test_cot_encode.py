"""What the CoT encoder writes, the CoT input reads back as the same state."""

from __future__ import annotations

import math

import msgspec
import numpy as np

from tests.conformance.source_suite import PARTY, track
from warnlink.geo.wgs84 import ecef_to_lla, enu_rotation, lla_to_ecef
from warnlink.model.covariance import unpack_covariance
from warnlink.model.payloads import Phase
from warnlink.model.record import DataMode
from warnlink.sources.cot import VELOCITY_SIGMA_MPS, CotSender, record_from_xml
from warnlink.sources.cot_encode import record_cot

SENDER = CotSender("tak-feed", PARTY, DataMode.REAL)


def test_a_state_round_trips_through_cot_xml() -> None:
    sent = msgspec.structs.replace(track("T7", DataMode.SIMULATED)[1], phase=Phase.BOOST)
    got = record_from_xml(record_cot(sent), SENDER)
    assert (got.track_id, got.epoch_ns, got.data_mode, got.phase) == (
        "T7",
        sent.epoch_ns,
        DataMode.SIMULATED,
        Phase.BOOST,
    )
    assert math.dist(got.pos_ecef_m, sent.pos_ecef_m) < 1e-3
    assert math.dist(got.vel_ecef_mps, sent.vel_ecef_mps) < 1e-3


def test_the_position_sigmas_survive_and_the_velocity_is_stated() -> None:
    sent = track("T7")[0]
    got = record_from_xml(record_cot(sent), SENDER)
    assert got.cov is not None
    assert sent.cov is not None
    lat, lon, _ = ecef_to_lla(np.asarray(sent.pos_ecef_m))
    rotation = enu_rotation(float(lat), float(lon))
    want = rotation @ unpack_covariance(sent.cov)[:3, :3] @ rotation.T
    have = rotation @ unpack_covariance(got.cov)[:3, :3] @ rotation.T
    # ce is the per-axis horizontal sigma, le the vertical one: the vertical variance and
    # the horizontal sum are kept, the horizontal shape and the correlations are not.
    assert abs(have[2, 2] - want[2, 2]) / want[2, 2] < 1e-4
    assert abs(np.trace(have) - np.trace(want)) / np.trace(want) < 1e-4
    velocity = unpack_covariance(got.cov)[3:, 3:]
    assert np.allclose(np.trace(velocity), 3 * VELOCITY_SIGMA_MPS**2)


def test_a_state_without_covariance_says_unknown_errors() -> None:
    sent = msgspec.structs.replace(track("T7")[0], cov=None)
    got = record_from_xml(record_cot(sent), SENDER)
    assert got.cov is None
    assert got.quality == 0


def test_a_missile_on_the_ground_is_written_at_its_height() -> None:
    sent = msgspec.structs.replace(
        track("T7")[0],
        pos_ecef_m=tuple(float(v) for v in lla_to_ecef(39.2, 125.67, 35.0)),
        vel_ecef_mps=(0.0, 0.0, 0.0),
    )
    got = record_from_xml(record_cot(sent), SENDER)
    assert math.dist(got.pos_ecef_m, sent.pos_ecef_m) < 1e-3
    assert math.hypot(*got.vel_ecef_mps) < 1e-3
