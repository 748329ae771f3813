"""Party areas (packaged, from Natural Earth) and user alert zones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from warnlink.errors import ConfigError
from warnlink.geo.areas import AreaKind, areas_for, load_zones, party_areas
from warnlink.geo.wgs84 import destination

ZONES = Path(__file__).parents[2] / "scenarios" / "zones" / "sample_zones.geojson"
#: Where the Pacific coast of Ibaraki meets 36.6 N in the packaged (simplified) JPN land.
COAST_LAT, COAST_LON = 36.6, 140.685


def _kinds(party: str, lat: float, lon: float) -> set[AreaKind]:
    return {a.kind for a in party_areas(party) if a.contains(lat, lon)}


def test_tokyo_is_japanese_land_and_seoul_korean_land() -> None:
    assert _kinds("JPN", 35.6812, 139.7671) == {AreaKind.LAND}
    assert _kinds("ROK", 37.5665, 126.9780) == {AreaKind.LAND}
    assert _kinds("ROK", 35.6812, 139.7671) == set()


@pytest.mark.parametrize(
    ("nm", "kind"),
    [(10.0, AreaKind.TERRITORIAL_SEA), (100.0, AreaKind.EEZ), (250.0, None)],
)
def test_distance_off_the_coast_gives_the_sea_area(nm: float, kind: AreaKind | None) -> None:
    lat, lon = destination(COAST_LAT, COAST_LON, 90.0, nm * 1852.0)
    assert _kinds("JPN", float(lat), float(lon)) == ({kind} if kind else set())


def test_sample_zones_belong_to_their_party() -> None:
    zones = load_zones(ZONES)
    jpn = [a.name for a in areas_for("JPN", zones) if a.kind is AreaKind.ZONE]
    assert "Aomori" in jpn
    assert "Seoul" not in jpn
    (aomori,) = [z for z in zones if z.name == "Aomori"]
    assert aomori.contains(40.82, 140.74)


def _write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return path


def _feature(name: str, coordinates: object, kind: str = "Polygon") -> dict[str, object]:
    return {
        "type": "Feature",
        "properties": {"party": "JPN", "name": name},
        "geometry": {"type": kind, "coordinates": coordinates},
    }


BOWTIE = [[[140.0, 40.0], [141.0, 41.0], [141.0, 40.0], [140.0, 41.0], [140.0, 40.0]]]


@pytest.mark.parametrize(
    ("document", "feature", "words"),
    [
        ("{not json", None, "cannot read"),
        ("[" * 100_000, None, "cannot read"),
        ([], None, "FeatureCollection"),
        ('"x"', None, "FeatureCollection"),
        ({"type": "Feature"}, None, "FeatureCollection"),
        (
            {"type": "FeatureCollection", "features": [_feature("Bowtie", BOWTIE)]},
            "features[0] ('Bowtie')",
            "invalid geometry",
        ),
        (
            {"type": "FeatureCollection", "features": [_feature("Dot", [140.0, 40.0], "Point")]},
            "features[0] ('Dot')",
            "Polygon",
        ),
        (
            {"type": "FeatureCollection", "features": [_feature("Broken", [[[1, 2]]])]},
            "features[0] ('Broken')",
            "bad geometry",
        ),
        (
            {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}}]},
            "features[0]",
            "party and name",
        ),
    ],
)
def test_a_bad_zone_file_names_the_file_and_feature(
    tmp_path: Path, document: object, feature: str | None, words: str
) -> None:
    path = _write(tmp_path, document)
    with pytest.raises(ConfigError) as caught:
        load_zones(path)
    assert caught.value.path == str(path)
    assert str(path) in str(caught.value)
    assert words in str(caught.value)
    assert caught.value.key == feature
