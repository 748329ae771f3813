"""Areas a party is warned for: its land, territorial sea, EEZ, and user alert zones.

Geometries are shapely polygons in WGS-84 longitude/latitude degrees. The packaged
areas (``data/areas/<PARTY>.geojson``) are derived from Natural Earth 1:10m admin-0
countries (public domain) by ``tools/derive_areas.py``: land simplified to about 1 km,
the territorial sea the band from the coast to 12 nm, the EEZ the band from 12 nm to
200 nm. The sea bands are an approximation (coastline buffers on azimuthal equidistant
projections; no baselines, no median lines with neighbours); see docs/outputs.md.

User alert zones are a GeoJSON FeatureCollection of Polygon or MultiPolygon features,
each with the properties ``party`` (the party warned) and ``name``.
"""

from __future__ import annotations

import enum
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape

from warnlink.errors import ConfigError

AREAS_DIR = Path(__file__).resolve().parents[1] / "data" / "areas"


class AreaKind(enum.StrEnum):
    """What an area is: the order is from land outwards, then user zones."""

    LAND = "land"
    TERRITORIAL_SEA = "territorial_sea"
    EEZ = "eez"
    ZONE = "zone"


@dataclass(frozen=True, slots=True)
class Area:
    """One area of one party.

    Attributes:
        party: the party warned for it.
        kind: land, territorial sea, EEZ or user zone.
        name: a human name (``JPN land``, ``Aomori``).
        geometry: shapely Polygon or MultiPolygon, lon/lat degrees, prepared for queries.
        source: the file it was read from.
    """

    party: str
    kind: AreaKind
    name: str
    geometry: Any
    source: str

    def contains(self, lat_deg: float, lon_deg: float) -> bool:
        """Whether the point (WGS-84 degrees) lies in the area."""
        return bool(shapely.contains_xy(self.geometry, lon_deg, lat_deg))


def read_areas(path: Path, *, kind: AreaKind | None = None) -> tuple[Area, ...]:
    """Read areas from a GeoJSON FeatureCollection.

    Args:
        path: the file.
        kind: the kind of every feature (user zones); None reads it from each
            feature's ``kind`` property (the packaged files).

    Raises:
        ConfigError: the file does not parse, or a feature lacks ``party`` or ``name``,
            or its geometry is not a valid Polygon/MultiPolygon; the error names the
            file and the feature (``features[i]`` and its name when it has one).
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ConfigError(f"cannot read areas: {exc}", path=str(path)) from exc
    if not isinstance(document, dict):
        raise ConfigError("not a GeoJSON FeatureCollection", path=str(path))
    features = document.get("features")
    if document.get("type") != "FeatureCollection" or not isinstance(features, list):
        raise ConfigError("not a GeoJSON FeatureCollection", path=str(path))
    return tuple(_area(path, i, feature, kind) for i, feature in enumerate(features))


def _area(path: Path, index: int, feature: object, kind: AreaKind | None) -> Area:
    key = f"features[{index}]"
    if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
        raise ConfigError("a feature needs an object of properties", path=str(path), key=key)
    properties: dict[str, Any] = feature["properties"]
    name = properties.get("name")
    if isinstance(name, str):
        key = f"{key} ({name!r})"
    party = properties.get("party")
    if not isinstance(name, str) or not name or not isinstance(party, str) or not party:
        raise ConfigError(
            "a feature needs string properties party and name", path=str(path), key=key
        )
    try:
        area_kind = kind or AreaKind(str(properties.get("kind")))
        geometry = shape(feature.get("geometry"))
    except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.GEOSException) as exc:
        raise ConfigError(f"bad geometry or kind: {exc}", path=str(path), key=key) from exc
    if geometry.geom_type not in ("Polygon", "MultiPolygon") or geometry.is_empty:
        raise ConfigError(
            f"geometry must be a Polygon or MultiPolygon, not {geometry.geom_type}",
            path=str(path),
            key=key,
        )
    if not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry)
        raise ConfigError(f"invalid geometry: {reason}", path=str(path), key=key)
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    if min_lon < -180.0 or max_lon > 180.0 or min_lat < -90.0 or max_lat > 90.0:
        raise ConfigError("coordinates out of lon/lat range", path=str(path), key=key)
    shapely.prepare(geometry)
    return Area(party, area_kind, name, geometry, str(path))


@functools.cache
def party_areas(party: str) -> tuple[Area, ...]:
    """The packaged land, territorial sea and EEZ of a party (empty if none is packaged)."""
    path = AREAS_DIR / f"{party}.geojson"
    return read_areas(path) if path.exists() else ()


def load_zones(path: Path) -> tuple[Area, ...]:
    """User alert zones from a GeoJSON file (see the module docstring); ConfigError if bad."""
    return read_areas(path, kind=AreaKind.ZONE)


def areas_for(party: str, zones: tuple[Area, ...] = ()) -> tuple[Area, ...]:
    """Everything a party is warned for: its packaged areas and its own user zones."""
    return party_areas(party) + tuple(z for z in zones if z.party == party)
