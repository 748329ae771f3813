"""GeoJSON and KML of an event's projection: its features, each saying the data mode."""

from __future__ import annotations

import json

import msgspec
import pytest
import shapely.geometry
from lxml import etree

from tests.factories import T0, envelope, party_state, track
from warnlink.fusion.gating import extrapolate, state_of
from warnlink.interop.export import KML_NS, event_geojson, event_kml
from warnlink.interop.projection import project_party
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S

KML = {"k": KML_NS}


def _event(mode: DataMode = DataMode.REAL) -> object:
    state = party_state(now_ns=T0 + 10 * NS_PER_S, data_mode=mode)
    mean, _ = extrapolate(*state_of(track()), 1.0)
    later = msgspec.structs.replace(
        track(),
        epoch=T0 + NS_PER_S,
        pos=tuple(float(v) for v in mean[:3]),
        vel=tuple(float(v) for v in mean[3:]),
    )
    state.apply(msgspec.structs.replace(envelope(later, seq=4), data_mode=mode))
    (event,) = project_party(state).events
    return event


def test_the_features_of_an_event() -> None:
    collection = event_geojson(_event())  # type: ignore[arg-type]
    roles = [f["properties"]["role"] for f in collection["features"]]
    assert roles == [
        "launch",
        "launch_ellipse_95",
        "track",
        "impact",
        "impact_ellipse_95",
        "ground_track",
    ]
    for feature in collection["features"]:
        assert shapely.geometry.shape(feature["geometry"]).is_valid
    assert collection["properties"] == {"event_id": "JPN-E1", "party": "JPN", "data_mode": "REAL"}


@pytest.mark.parametrize("mode", list(DataMode))
def test_every_feature_says_the_data_mode(mode: DataMode) -> None:
    event = _event(mode)
    collection = json.loads(json.dumps(event_geojson(event)))  # type: ignore[arg-type]
    assert collection["properties"]["data_mode"] == mode.value
    assert {f["properties"]["data_mode"] for f in collection["features"]} == {mode.value}
    document = etree.fromstring(event_kml(event))  # type: ignore[arg-type]
    placemarks = document.findall(".//k:Placemark", KML)
    assert len(placemarks) == len(collection["features"])
    for placemark in placemarks:
        (value,) = placemark.xpath(
            "k:ExtendedData/k:Data[@name='data_mode']/k:value", namespaces=KML
        )
        assert value.text == mode.value
        assert json.loads(placemark.findtext("k:description", namespaces=KML))["data_mode"] == (
            mode.value
        )


def test_kml_puts_extended_data_before_the_geometry() -> None:
    """KML 2.2 orders a Placemark's children: name, description, ExtendedData, geometry."""
    document = etree.fromstring(event_kml(_event()))  # type: ignore[arg-type]
    for placemark in document.findall(".//k:Placemark", KML):
        tags = [etree.QName(child).localname for child in placemark]
        assert tags[:3] == ["name", "description", "ExtendedData"]
        assert tags[3] in {"Point", "LineString", "Polygon"}
