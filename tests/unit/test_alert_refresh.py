"""The alert monitor assesses impact predictions again only when they changed enough to
matter or the rate bound passed, and an ellipse moving into an area is still warned of
within that bound."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest

import warnlink.alerting.assess as assess
import warnlink.alerting.monitor as monitor_module
from tests.factories import T0, envelope, impact, track
from warnlink.alerting.assess import ThreatKind, impact_threats
from warnlink.alerting.lifecycle import ISSUE_AT, MsgType
from warnlink.alerting.monitor import (
    PATH_MAX_AGE_S,
    PATH_MOVED_SIGMA,
    REASSESS_EVERY_S,
    AlertMonitor,
    path_worth_reflying,
)
from warnlink.fusion.picture import Picture
from warnlink.geo.areas import AreaKind, areas_for
from warnlink.geo.wgs84 import as_vector3, destination
from warnlink.model import Ellipse, ImpactPrediction, TrackReport
from warnlink.model.covariance import unpack_covariance
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S
from warnlink.physics.propagate import propagate

SMALL = Ellipse(3_000.0, 2_000.0, 90.0)
LAT = 40.5


def _eez_edge_lon() -> float:
    """The westernmost longitude (0.01 degree steps) of JPN's EEZ on `LAT`, from 131 E."""
    (eez,) = [a for a in areas_for("JPN") if a.kind is AreaKind.EEZ]
    lon = 131.0
    while not eez.contains(LAT, lon):
        lon += 0.01
    return lon


def _ipp(second: int, lat: float, lon: float) -> ImpactPrediction:
    return msgspec.structs.replace(
        impact(1),
        epoch=T0 + second * NS_PER_S,
        impact_time=T0 + 600 * NS_PER_S,
        impact_lat=lat,
        impact_lon=lon,
        impact_aou=SMALL,
    )


@pytest.mark.parametrize("speed_mps", [30.0, 400.0])
def test_an_ellipse_moving_into_the_eez_is_alerted_within_the_rate_bound(
    speed_mps: float,
) -> None:
    start_lon = _eez_edge_lon() - 0.06
    picture, monitor = Picture("JPN"), AlertMonitor("JPN")
    first_due: int | None = None
    alerted: int | None = None
    for second in range(300):
        lat, lon = destination(LAT, start_lon, 90.0, speed_mps * second)
        ipp = _ipp(second, float(lat), float(lon))
        picture.apply(envelope(ipp, originator="ROK", seq=second + 1), T0)
        now = T0 + second * NS_PER_S
        fresh = impact_threats("E", ipp, monitor.areas, (), DataMode.REAL)
        if first_due is None and any(
            t.area_kind is AreaKind.EEZ and t.probability >= ISSUE_AT for t in fresh
        ):
            first_due = second
        for alert in monitor.update(picture, now):
            if alert.msg_type is MsgType.ALERT and alert.threat.area_kind is AreaKind.EEZ:
                alerted = second if alerted is None else alerted
        if alerted is not None:
            break
    assert first_due is not None
    assert first_due > 0  # it started outside and moved in
    assert alerted is not None
    assert alerted - first_due <= REASSESS_EVERY_S


def test_predictions_that_agree_are_assessed_once_per_rate_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []

    def counted(*args: object, **kwargs: object) -> list[assess.Threat]:
        calls.append(1)
        return impact_threats(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(monitor_module, "impact_threats", counted)
    picture, monitor = Picture("JPN"), AlertMonitor("JPN")
    for second in range(30):
        picture.apply(envelope(_ipp(second, 40.5, 136.0), originator="ROK", seq=second + 1), T0)
        monitor.update(picture, T0 + second * NS_PER_S)
    assert len(calls) == 3  # at 0, 10 and 20 s: every IPP would make it 30
    assert any(a.threat.kind is ThreatKind.IMPACT for a in monitor.alerts)


def test_a_moved_or_resized_ellipse_is_assessed_at_once() -> None:
    base = _ipp(0, 40.5, 136.0)
    moved_lat, moved_lon = destination(40.5, 136.0, 0.0, 200.0)  # 0.25 of a 1-sigma minor axis
    assert not monitor_module.impact_worth_reassessing(base, _ipp(1, 40.5, 136.0))
    assert monitor_module.impact_worth_reassessing(
        base, _ipp(1, float(moved_lat), float(moved_lon))
    )
    bigger = msgspec.structs.replace(
        _ipp(1, 40.5, 136.0), impact_aou=Ellipse(3_500.0, 2_000.0, 90.0)
    )
    assert monitor_module.impact_worth_reassessing(base, bigger)
    later = msgspec.structs.replace(
        _ipp(1, 40.5, 136.0), impact_time=base.impact_time + 20 * NS_PER_S
    )
    assert monitor_module.impact_worth_reassessing(base, later)


def test_an_ellipse_inside_an_area_has_mass_one_without_drawing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ipp = _ipp(0, 40.5, 136.0)
    areas = areas_for("JPN")
    drawn = assess.impact_samples(ipp)
    (eez,) = [a for a in areas if a.kind is AreaKind.EEZ]
    assert assess.probability_mass(drawn, eez.geometry) == 1.0  # what drawing would give

    def refuse(_: ImpactPrediction) -> None:
        raise AssertionError("drew samples for an ellipse wholly inside the area")

    monkeypatch.setattr(assess, "impact_samples", refuse)
    (threat,) = impact_threats("E", ipp, areas, (), DataMode.REAL)
    assert threat.area_kind is AreaKind.EEZ
    assert threat.probability == 1.0


def test_a_ground_track_is_flown_again_only_off_its_path_or_past_its_age() -> None:
    flown = track(1)
    state = np.array([*flown.pos, *flown.vel])

    def later(seconds: float, push_m: float = 0.0) -> TrackReport:
        moved = propagate(state[None, :], 5.0, seconds)[0]
        moved[0] += push_m
        return msgspec.structs.replace(
            flown,
            epoch=flown.epoch + round(seconds * NS_PER_S),
            pos=as_vector3(moved[:3]),
            vel=as_vector3(moved[3:]),
        )

    sigma_m = math.sqrt(unpack_covariance(flown.cov)[0, 0])
    assert not path_worth_reflying(flown, later(5.0, 10 * sigma_m))  # too soon
    assert not path_worth_reflying(flown, later(12.0))  # on the path
    assert path_worth_reflying(flown, later(12.0, 3 * PATH_MOVED_SIGMA * sigma_m))
    assert path_worth_reflying(flown, later(PATH_MAX_AGE_S))
