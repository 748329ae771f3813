"""GeoJSON (RFC 7946) and KML 2.2 (OGC) of one event as a party sees it.

Features: the launch point and its 95 % ellipse, each originator's track (the track
states received, in time order, with heights), the predicted impact point and its 95 %
ellipse, and the predicted ground track (`alerting.overflight`). Coordinates are WGS-84
longitude, latitude (degrees) and, for tracks, height above the ellipsoid (m).
These are the functions the web API serves, and what ``warnlink export`` writes.
"""

from __future__ import annotations

import itertools
import json
import xml.etree.ElementTree as ET
from typing import Any, Final

from warnlink.alerting.monitor import AlertMonitor
from warnlink.alerting.probability import ellipse_outline
from warnlink.fusion.picture import Event, tightest_launch
from warnlink.model.time import utc_ns_to_iso

KML_NS: Final = "http://www.opengis.net/kml/2.2"
Position = list[float]


def event_features(event: Event, monitor: AlertMonitor) -> list[dict[str, Any]]:
    """The event's features as GeoJSON Feature objects (see the module docstring)."""
    features: list[dict[str, Any]] = []
    best = tightest_launch(event.contributions.values())
    if best is not None:
        props = {"role": "launch", "time": utc_ns_to_iso(best.launch_time), "trk_id": best.trk_id}
        features.append(_feature("Point", [best.launch_lon, best.launch_lat], props))
        ring = ellipse_outline(best.launch_lat, best.launch_lon, best.launch_aou)
        features.append(_feature("Polygon", [_ring(ring)], {"role": "launch_ellipse_95"}))
    for key in sorted(event.contributions):
        points = monitor.ledger.track_points(key)
        if len(points) > 1:
            line = [[p.lon_deg, p.lat_deg, round(p.alt_m, 1)] for p in points]
            props = {
                "role": "track",
                "originator": key[0],
                "trk_id": key[1],
                "start": utc_ns_to_iso(points[0].epoch),
                "end": utc_ns_to_iso(points[-1].epoch),
            }
            features.append(_feature("LineString", line, props))
    found = event.latest_impact()
    if found is not None:
        ipp = found[1]
        props = {"role": "impact", "time": utc_ns_to_iso(ipp.impact_time), "by": found[0][0]}
        features.append(_feature("Point", [ipp.impact_lon, ipp.impact_lat], props))
        ring = ellipse_outline(ipp.impact_lat, ipp.impact_lon, ipp.impact_aou)
        features.append(_feature("Polygon", [_ring(ring)], {"role": "impact_ellipse_95"}))
    path = monitor.ground_track(event)
    if path is not None:
        line = [[lon, lat] for lon, lat in zip(path.lon_deg, path.lat_deg, strict=True)]
        props = {"role": "ground_track", "start": utc_ns_to_iso(path.times_ns[0])}
        features.append(_feature("LineString", line, props))
    return features


def event_geojson(event: Event, monitor: AlertMonitor) -> dict[str, Any]:
    """The event as a GeoJSON FeatureCollection (a dict, ready for `json.dumps`)."""
    return {
        "type": "FeatureCollection",
        "properties": {"event_id": event.event_id, "party": monitor.party},
        "features": event_features(event, monitor),
    }


def event_kml(event: Event, monitor: AlertMonitor) -> bytes:
    """The event as a KML 2.2 document (UTF-8 XML), one Placemark per feature."""
    ET.register_namespace("", KML_NS)
    kml = ET.Element(f"{{{KML_NS}}}kml")
    document = ET.SubElement(kml, f"{{{KML_NS}}}Document")
    _text(document, "name", f"{monitor.party} {event.event_id}")
    for feature in event_features(event, monitor):
        placemark = ET.SubElement(document, f"{{{KML_NS}}}Placemark")
        props = feature["properties"]
        _text(placemark, "name", str(props["role"]))
        _text(placemark, "description", json.dumps(props))
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


def _ring(ring: tuple[tuple[float, float], ...]) -> list[Position]:
    """A (lat, lon) ring as GeoJSON positions, counter-clockwise (RFC 7946 exterior)."""
    positions = [[lon, lat] for lat, lon in ring]
    area2 = sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(positions))
    return positions if area2 > 0 else positions[::-1]


def _kml_coords(positions: list[Position]) -> str:
    return " ".join(",".join(f"{v:.6f}".rstrip("0").rstrip(".") for v in p) for p in positions)


def _text(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, f"{{{KML_NS}}}{tag}").text = text
