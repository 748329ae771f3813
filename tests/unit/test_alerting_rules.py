"""Impact probability mass against closed forms, and the alert lifecycle."""

from __future__ import annotations

import math

import pytest
import shapely
from scipy.stats import norm

from warnlink.alerting.assess import Threat, ThreatKind
from warnlink.alerting.lifecycle import (
    ALL_CLEAR_AFTER_S,
    AlertState,
    MsgType,
    Reason,
    step,
)
from warnlink.alerting.probability import impact_samples, probability_mass
from warnlink.geo.areas import AreaKind
from warnlink.geo.ellipse import ELLIPSE_95_SCALE, ellipse_ring
from warnlink.geo.wgs84 import destination
from warnlink.model import Ellipse, ImpactPrediction
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S

LAT, LON = 40.0, 138.0
#: Monte Carlo standard error at p = 0.5 with 20,000 draws is 0.0035: 3 of them, plus the
#: polygon's chord error.
TOLERANCE = 0.012


def _ipp(semi_major_m: float, semi_minor_m: float, orientation_deg: float) -> ImpactPrediction:
    return ImpactPrediction(
        trk_id=1,
        epoch=0,
        impact_time=600 * NS_PER_S,
        impact_time_sigma_s=1.0,
        impact_lat=LAT,
        impact_lon=LON,
        impact_aou=Ellipse(
            semi_major_m=semi_major_m, semi_minor_m=semi_minor_m, orientation_deg=orientation_deg
        ),
    )


@pytest.mark.parametrize("radius_km", [10.0, 20.0, 40.0])
def test_mass_over_a_centred_disc_is_the_rayleigh_law(radius_km: float) -> None:
    ipp = _ipp(30_000.0, 30_000.0, 0.0)
    ring = ellipse_ring(LAT, LON, Ellipse(radius_km * 1e3, radius_km * 1e3, 0.0), points=360)
    disc = shapely.Polygon([(lon, lat) for lat, lon in ring])
    sigma_m = 30_000.0 / ELLIPSE_95_SCALE
    expected = 1.0 - math.exp(-((radius_km * 1e3) ** 2) / (2.0 * sigma_m**2))
    assert probability_mass(impact_samples(ipp), disc) == pytest.approx(expected, abs=TOLERANCE)


@pytest.mark.parametrize("offset_km", [0.0, 10.0, 25.0, -15.0])
def test_mass_over_a_half_plane_is_the_normal_tail(offset_km: float) -> None:
    # Major axis east-west (bearing 90): the half-plane east of a north-south line.
    ipp = _ipp(50_000.0, 20_000.0, 90.0)
    _, line_lon = destination(LAT, LON, 90.0 if offset_km >= 0 else 270.0, abs(offset_km) * 1e3)
    half_plane = shapely.box(float(line_lon), LAT - 5.0, LON + 5.0, LAT + 5.0)
    expected = 1.0 - norm.cdf(offset_km * 1e3 / (50_000.0 / ELLIPSE_95_SCALE))
    got = probability_mass(impact_samples(ipp), half_plane)
    assert got == pytest.approx(expected, abs=TOLERANCE)


def test_an_area_out_of_reach_gets_no_mass() -> None:
    far = shapely.box(LON + 3.0, LAT, LON + 4.0, LAT + 1.0)
    assert probability_mass(impact_samples(_ipp(30_000.0, 10_000.0, 0.0)), far) == 0.0


def _threat(p: float, end_s: float = 600.0, event: str = "JPN-E1") -> Threat:
    return Threat(
        event,
        "JPN eez",
        AreaKind.EEZ,
        ThreatKind.IMPACT,
        p,
        round(end_s * NS_PER_S),
        round(end_s * NS_PER_S),
        ((40.0, 138.0), (40.1, 138.0), (40.1, 138.1), (40.0, 138.0)),
        (f"msg-{p}",),
        DataMode.REAL,
    )


def _run(
    sequence: list[tuple[float, list[Threat], frozenset[str]]],
) -> list[tuple[MsgType, Reason]]:
    book: dict[tuple[str, str, ThreatKind], AlertState] = {}
    out = []
    for now_s, threats, lost in sequence:
        book, messages = step("JPN", book, threats, lost, round(now_s * NS_PER_S))
        out += [(m.msg_type, m.reason) for m in messages]
    return out


NONE: frozenset[str] = frozenset()


def test_issue_then_hysteresis_then_retract() -> None:
    assert _run(
        [
            (100.0, [_threat(0.04)], NONE),  # below the issue threshold
            (101.0, [_threat(0.06)], NONE),  # issued
            (102.0, [_threat(0.03)], NONE),  # between 0.01 and 0.05: kept, no flap
            (103.0, [_threat(0.06)], NONE),  # unchanged
            (104.0, [_threat(0.005)], NONE),  # below 0.01: retracted
            (105.0, [_threat(0.02)], NONE),  # not again below 0.05
        ]
    ) == [(MsgType.ALERT, Reason.ISSUED), (MsgType.CANCEL, Reason.LEFT_AREA)]


def test_update_on_a_large_change_and_all_clear_after_impact() -> None:
    assert _run(
        [
            (100.0, [_threat(0.3)], NONE),
            (101.0, [_threat(0.35)], NONE),
            (102.0, [_threat(0.6)], NONE),
            (103.0, [_threat(0.6, end_s=640.0)], NONE),
            (640.0 + ALL_CLEAR_AFTER_S - 1.0, [_threat(0.6, end_s=640.0)], NONE),
            (640.0 + ALL_CLEAR_AFTER_S, [_threat(0.6, end_s=640.0)], NONE),
        ]
    ) == [
        (MsgType.ALERT, Reason.ISSUED),
        (MsgType.UPDATE, Reason.UPDATED),
        (MsgType.UPDATE, Reason.UPDATED),
        (MsgType.UPDATE, Reason.ALL_CLEAR),
    ]


def test_a_lost_track_retracts_at_the_next_step_and_refs_chain() -> None:
    book: dict[tuple[str, str, ThreatKind], AlertState] = {}
    book, issued = step("JPN", book, [_threat(0.9)], NONE, 100 * NS_PER_S)
    book, retracted = step("JPN", book, [_threat(0.9)], frozenset({"JPN-E1"}), 101 * NS_PER_S)
    assert [m.msg_type for m in retracted] == [MsgType.CANCEL]
    assert retracted[0].reason is Reason.TRACK_LOST
    assert retracted[0].references == ((issued[0].identifier, issued[0].sent_ns),)
    assert retracted[0].threat.derived_from == ("msg-0.9",)
    _, again = step("JPN", book, [_threat(0.9)], frozenset({"JPN-E1"}), 102 * NS_PER_S)
    assert again == []
