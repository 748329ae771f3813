"""Cursor-on-Target of an event's projection: types, points, ellipses and the data mode,
read back with lxml (a parser independent of the ElementTree that wrote them)."""

from __future__ import annotations

import msgspec
import pytest
from lxml import etree

from tests.factories import T0, party_state
from warnlink.geo.ellipse import ELLIPSE_95_SCALE
from warnlink.interop.cot import event_cot
from warnlink.interop.projection import project_party
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S

NOW = T0 + 10 * NS_PER_S


def _events(mode: DataMode) -> dict[str, etree._Element]:
    (event,) = project_party(party_state(now_ns=NOW, data_mode=mode)).events
    return {c.uid.rsplit(".", 1)[-1]: etree.fromstring(c.xml) for c in event_cot(event)}


def test_an_event_is_its_track_launch_point_and_impact_point() -> None:
    events = _events(DataMode.REAL)
    assert set(events) == {"track", "launch", "impact"}
    track = events["track"]
    assert track.get("uid") == "warnlink.JPN.JPN-E1.track"
    assert track.get("type") == "a-u-A-W-M-S-S"
    assert track.get("time") == "2023-11-14T22:13:30.000Z"
    assert float(track.find("point").get("ce")) == pytest.approx(10.0, abs=0.1)
    impact = events["impact"]
    assert impact.get("type") == "u-d-c-e"
    ellipse = impact.find("detail/shape/ellipse")
    assert (float(ellipse.get("major")), float(ellipse.get("minor"))) == (20_000.0, 8_000.0)
    assert float(impact.find("point").get("ce")) == pytest.approx(
        20_000.0 / ELLIPSE_95_SCALE, abs=0.1
    )


@pytest.mark.parametrize("mode", list(DataMode))
def test_every_event_says_its_data_mode(mode: DataMode) -> None:
    for event in _events(mode).values():
        (marks,) = event.findall("detail/__warnlink")
        assert marks.get("dataMode") == mode.value


@pytest.mark.parametrize("mode", [DataMode.EXERCISE, DataMode.TEST, DataMode.SIMULATED])
def test_data_that_is_not_real_is_marked_where_tak_shows_it(mode: DataMode) -> None:
    for name, event in _events(mode).items():
        callsign = event.find("detail/contact").get("callsign")
        remarks = event.findtext("detail/remarks")
        assert callsign.startswith(f"{mode.value} JPN-E1 "), name
        assert remarks.startswith(f"{mode.value} "), name


def test_real_data_is_not_marked() -> None:
    events = _events(DataMode.REAL)
    assert events["track"].find("detail/contact").get("callsign") == "JPN-E1 missile"
    assert events["launch"].findtext("detail/remarks") == "launch point, 95 % ellipse"


@pytest.mark.parametrize(
    ("mode", "kind"),
    [
        (DataMode.REAL, "a-u-A-W-M-S-S"),
        (DataMode.EXERCISE, "a-j-A-W-M-S-S"),
        (DataMode.TEST, "a-u-A-W-M-S-S"),
        (DataMode.SIMULATED, "a-u-A-W-M-S-S"),
    ],
)
def test_an_exercise_track_is_a_joker(mode: DataMode, kind: str) -> None:
    events = _events(mode)
    assert events["track"].get("type") == kind
    assert events["impact"].get("type") == "u-d-c-e"  # a drawing has no affiliation


def test_a_track_without_covariance_has_unknown_errors() -> None:
    state = party_state(now_ns=NOW)
    contribution = state.picture.events["JPN-E1"].contributions[("ROK", 1)]
    assert contribution.track is not None
    contribution.track = msgspec.structs.replace(contribution.track, cov=None)
    (event,) = project_party(state).events
    (track,) = [etree.fromstring(c.xml) for c in event_cot(event) if c.uid.endswith("track")]
    assert track.find("point").get("ce") == "9999999.0"
