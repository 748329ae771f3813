"""Derive each party's land, territorial sea and EEZ from Natural Earth (not run by tests).

Source: Natural Earth 1:10m admin-0 countries (public domain), as TopoJSON in the npm
package ``world-atlas`` (ISC; Mike Bostock), fetched with ``npm pack``. Run::

    .venv/bin/python tools/derive_areas.py

It writes ``src/warnlink/data/areas/<PARTY>.geojson``: the party's land, its territorial
sea (the band from the coast to 12 nm) and its EEZ (the band from 12 nm to 200 nm).

The sea areas are an approximation: the coastline (simplified to about 1 km) is buffered
by 12 nm and 200 nm, each island on its own azimuthal equidistant projection centred on
it (distance exact from the centre, within about 2 % at 2,000 km off it), then merged.
Real baselines (straight baselines, low-tide elevations) and the median lines agreed or
claimed between neighbours are not modelled; nothing is clipped.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import shapely
from shapely.geometry import MultiPolygon, Polygon, box, mapping, shape
from shapely.ops import transform, unary_union

WORLD_ATLAS = "world-atlas@2.0.2"
#: Natural Earth ISO 3166-1 numeric ids per party (USA: the 50 states and Guam).
PARTIES: dict[str, tuple[str, ...]] = {"ROK": ("410",), "JPN": ("392",), "USA": ("840", "316")}
NM_M = 1852.0
TERRITORIAL_SEA_M = 12 * NM_M
EEZ_M = 200 * NM_M
SIMPLIFY_DEG = 0.01  # about 1 km
DECIMALS = 4  # about 10 m
OUT = Path(__file__).resolve().parents[1] / "src" / "warnlink" / "data" / "areas"


def fetch_topology(tmp: Path) -> dict[str, Any]:
    """`npm pack` the pinned world-atlas and read its countries-10m TopoJSON."""
    subprocess.run(["npm", "pack", WORLD_ATLAS], cwd=tmp, check=True, capture_output=True)
    (tarball,) = tmp.glob("world-atlas-*.tgz")
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("package/countries-10m.json")
        assert member is not None
        topology: dict[str, Any] = json.load(member)
    return topology


def decode_arcs(topology: dict[str, Any]) -> list[np.ndarray]:
    """TopoJSON arcs, delta-decoded and de-quantised, as (n, 2) lon/lat arrays."""
    scale = np.array(topology["transform"]["scale"])
    translate = np.array(topology["transform"]["translate"])
    return [
        np.cumsum(np.array(arc, dtype=np.float64), axis=0) * scale + translate
        for arc in topology["arcs"]
    ]


def ring(arcs: list[np.ndarray], indices: list[int]) -> np.ndarray:
    """One ring from arc indices (a negative index ~i is arc i reversed)."""
    parts = []
    for k, index in enumerate(indices):
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        parts.append(arc if k == 0 else arc[1:])
    return np.concatenate(parts)


def country(topology: dict[str, Any], arcs: list[np.ndarray], iso: str) -> Any:
    """One country's geometry (made valid: quantisation can make rings touch)."""
    (geometry,) = [g for g in topology["objects"]["countries"]["geometries"] if g.get("id") == iso]
    polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
    parts = [Polygon(ring(arcs, p[0]), [ring(arcs, h) for h in p[1:]]) for p in polygons]
    return unary_union([shapely.make_valid(p) for p in parts])


def buffer_geodesic(polygon: Polygon, distance_m: float) -> Polygon | MultiPolygon:
    """Buffer on an azimuthal equidistant projection centred on the polygon; back to lon/lat.

    Longitudes of the result are unwrapped (continuous), so a buffer over the antimeridian
    may run past +-180; `wrap` folds it back.
    """
    centre = polygon.representative_point()
    aeqd = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={centre.y} +lon_0={centre.x} +datum=WGS84")
    forward = pyproj.Transformer.from_crs("EPSG:4326", aeqd, always_xy=True).transform
    inverse = pyproj.Transformer.from_crs(aeqd, "EPSG:4326", always_xy=True).transform
    buffered = transform(forward, polygon).buffer(distance_m, quad_segs=8)

    def back(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = inverse(x, y)
        lon = np.degrees(np.unwrap(np.radians(np.asarray(lon))))
        return lon + 360.0 * np.round((centre.x - lon[0]) / 360.0), np.asarray(lat)

    return transform(back, buffered)


def wrap(geometry: Any) -> Any:
    """Fold a geometry whose longitudes run past +-180 back into [-180, 180]."""
    pieces = []
    for shift in (-360.0, 0.0, 360.0):
        window = box(-180.0 - shift, -90.0, 180.0 - shift, 90.0)
        piece = geometry.intersection(window)
        if not piece.is_empty:
            pieces.append(shapely.affinity.translate(piece, xoff=shift))
    return unary_union(pieces)


def derive(land: MultiPolygon) -> dict[str, Any]:
    """Land, territorial sea band and EEZ band of one party."""
    land = polygonal(shapely.make_valid(land.simplify(SIMPLIFY_DEG, preserve_topology=True)))
    parts = list(land.geoms)
    sea12 = wrap(unary_union([buffer_geodesic(p, TERRITORIAL_SEA_M) for p in parts]))
    sea200 = wrap(unary_union([buffer_geodesic(p, EEZ_M) for p in parts]))
    sea12 = sea12.simplify(SIMPLIFY_DEG)
    sea200 = sea200.simplify(SIMPLIFY_DEG)
    return {
        "land": land,
        "territorial_sea": sea12.difference(land),
        "eez": sea200.difference(sea12),
    }


def polygonal(geometry: Any) -> MultiPolygon:
    """Only the polygons of a geometry (validity repairs can leave lines and points)."""
    parts = [g for g in shapely.get_parts(geometry) if isinstance(g, Polygon | MultiPolygon)]
    return MultiPolygon([p for g in parts for p in getattr(g, "geoms", [g])])


def rounded(geometry: Any) -> dict[str, Any]:
    return mapping(polygonal(shapely.set_precision(geometry, 10.0**-DECIMALS)))


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        topology = fetch_topology(Path(tmp))
    arcs = decode_arcs(topology)
    OUT.mkdir(parents=True, exist_ok=True)
    for party, isos in PARTIES.items():
        land = unary_union([country(topology, arcs, iso) for iso in isos])
        features = [
            {
                "type": "Feature",
                "properties": {"party": party, "kind": kind, "name": f"{party} {kind}"},
                "geometry": rounded(geometry),
            }
            for kind, geometry in derive(land).items()
        ]
        path = OUT / f"{party}.geojson"
        text = json.dumps(
            {"type": "FeatureCollection", "features": features}, separators=(",", ":")
        )
        path.write_text(text + "\n", encoding="utf-8")
        check = [shape(f["geometry"]) for f in features]
        print(f"{path.name}: {len(text) / 1e6:.2f} MB, valid={all(g.is_valid for g in check)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
