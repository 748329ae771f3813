"""GeoJSON (RFC 7946) and KML 2.2 (OGC) of one event as a party sees it.

Read from the event's projection (`interop.projection.EventProjection`). Features: the
launch point and its 95 % ellipse, each originator's track (the track states received,
in time order, with heights), the predicted impact point and its 95 % ellipse, and the
predicted ground track (`alerting.overflight`). Coordinates are WGS-84 longitude,
latitude (degrees) and, for tracks, height above the ellipsoid (m). Every feature says
the event's data mode (property ``data_mode``; in KML, ``ExtendedData``), and so does
the collection. These are what ``warnlink export``, the web API and the output folder
write (`interop.formats`).
"""

from __future__ import annotations

import itertools
import json
import xml.etree.ElementTree as ET
from typing import Any, Final

from warnlink.geo.ellipse import Ring
from warnlink.interop.projection import EventProjection
from warnlink.model.time import utc_ns_to_iso

KML_NS: Final = "http://www.opengis.net/kml/2.2"
Position = list[float]


def event_features(event: EventProjection) -> list[dict[str, Any]]:
    """The event's features as GeoJSON Feature objects (see the module docstring)."""
    mode = {"data_mode": event.data_mode.value}
    features: list[dict[str, Any]] = []
    if event.launch is not None:
        best = event.launch.report
        props = {"role": "launch", "time": utc_ns_to_iso(best.launch_time), "trk_id": best.trk_id}
        features.append(_feature("Point", [best.launch_lon, best.launch_lat], props | mode))
        ring = _ring(event.launch.ring)
        features.append(_feature("Polygon", [ring], {"role": "launch_ellipse_95"} | mode))
    for contribution in event.contributions:
        points = contribution.history
        if len(points) > 1:
            line = [[p.lon_deg, p.lat_deg, round(p.alt_m, 1)] for p in points]
            props = {
                "role": "track",
                "originator": contribution.originator,
                "trk_id": contribution.trk_id,
                "start": utc_ns_to_iso(points[0].epoch),
                "end": utc_ns_to_iso(points[-1].epoch),
            }
            features.append(_feature("LineString", line, props | mode))
    if event.impact is not None:
        ipp = event.impact.prediction
        props = {
            "role": "impact",
            "time": utc_ns_to_iso(ipp.impact_time),
            "by": event.impact.originator,
        }
        features.append(_feature("Point", [ipp.impact_lon, ipp.impact_lat], props | mode))
        ring = _ring(event.impact.ring)
        features.append(_feature("Polygon", [ring], {"role": "impact_ellipse_95"} | mode))
    path = event.ground_track
    if path is not None:
        line = [[lon, lat] for lon, lat in zip(path.lon_deg, path.lat_deg, strict=True)]
        props = {"role": "ground_track", "start": utc_ns_to_iso(path.times_ns[0])}
        features.append(_feature("LineString", line, props | mode))
    return features


def event_geojson(event: EventProjection) -> dict[str, Any]:
    """The event as a GeoJSON FeatureCollection (a dict, ready for `json.dumps`)."""
    return {
        "type": "FeatureCollection",
        "properties": {
            "event_id": event.event_id,
            "party": event.party,
            "data_mode": event.data_mode.value,
        },
        "features": event_features(event),
    }


def event_kml(event: EventProjection) -> bytes:
    """The event as a KML 2.2 document (UTF-8 XML), one Placemark per feature."""
    ET.register_namespace("", KML_NS)
    kml = ET.Element(f"{{{KML_NS}}}kml")
    document = ET.SubElement(kml, f"{{{KML_NS}}}Document")
    _text(document, "name", f"{event.party} {event.event_id}")
    for feature in event_features(event):
        placemark = ET.SubElement(document, f"{{{KML_NS}}}Placemark")
        props = feature["properties"]
        _text(placemark, "name", str(props["role"]))
        _text(placemark, "description", json.dumps(props))
        extended = ET.SubElement(placemark, f"{{{KML_NS}}}ExtendedData")
        for name, value in props.items():
            data = ET.SubElement(extended, f"{{{KML_NS}}}Data", name=name)
            _text(data, "value", str(value))
        geometry = feature["geometry"]
        coords = geometry["coordinates"]
        if geometry["type"] == "Point":
            point = ET.SubElement(placemark, f"{{{KML_NS}}}Point")
            _text(point, "coordinates", _kml_coords([coords]))
        elif geometry["type"] == "LineString":
            line = ET.SubElement(placemark, f"{{{KML_NS}}}LineString")
            if len(coords[0]) == 3:
                _text(line, "altitudeMode", "absolute")
            _text(line, "coordinates", _kml_coords(coords))
        else:
            polygon = ET.SubElement(placemark, f"{{{KML_NS}}}Polygon")
            outer = ET.SubElement(polygon, f"{{{KML_NS}}}outerBoundaryIs")
            ring = ET.SubElement(outer, f"{{{KML_NS}}}LinearRing")
            _text(ring, "coordinates", _kml_coords(coords[0]))
    document_bytes: bytes = ET.tostring(kml, encoding="utf-8", xml_declaration=True)
    return document_bytes


def _feature(kind: str, coordinates: Any, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": kind, "coordinates": coordinates},
        "properties": properties,
    }


def _ring(ring: Ring) -> list[Position]:
    """A (lat, lon) ring as GeoJSON positions, counter-clockwise (RFC 7946 exterior)."""
    positions = [[lon, lat] for lat, lon in ring]
    area2 = sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(positions))
    return positions if area2 > 0 else positions[::-1]


def _kml_coords(positions: list[Position]) -> str:
    return " ".join(",".join(f"{v:.6f}".rstrip("0").rstrip(".") for v in p) for p in positions)


def _text(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, f"{{{KML_NS}}}{tag}").text = text
