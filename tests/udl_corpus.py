"""Malformed and hostile createBulk bodies, each with the refusal it must get first.

Every check of issue 16 item 6 has a body here, with the oversize, deep, non-JSON,
wrong-typed and ambiguous ones. tests/unit/sources/test_udl_corpus.py puts them through
`sources.udl.parse_batch`; tests/integration/test_up_hostile.py sends them to a running
node's HTTPS port. The route's own refusals (content type, slow drip, size while
reading) are in tests/unit/test_web_ingest.py and the integration test.
"""

from __future__ import annotations

import json
from typing import Final

import numpy as np

from tests.udl_records import DROP, POS_KM, body, diagonal_cov, record, vector
from warnlink.geo.wgs84 import lla_to_ecef
from warnlink.sources.udl import MAX_BODY_BYTES, MAX_RECORDS

WHOLE: Final = None


def _raw(text: str) -> bytes:
    return text.encode()


def _record_text(**changes: object) -> str:
    return json.dumps(record(**changes))


_MARK = 12345.5


def _literal(text: bytes) -> bytes:
    """A body whose first position coordinate is written as `text`."""
    marked = body(record(vectors=[vector(pos=[_MARK, 2.0, 3.0])]))
    return marked.replace(str(_MARK).encode(), text, 1)


def _km(lat: float, lon: float, alt_m: float) -> list[float]:
    return [float(x) / 1000.0 for x in lla_to_ecef(lat, lon, alt_m)]


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _indefinite() -> list[float]:
    cov = diagonal_cov(0.04, 0.04, 0.04, 1e-4, 1e-4, 1e-4)
    cov[1] = 0.09  # x-y covariance above sigma_x * sigma_y
    return cov


def _indefinite45() -> list[float]:
    cov = 1.5 * np.eye(9) - 0.5 * np.ones((9, 9))  # eigenvalues 1.5 and -3
    return [float(x) for x in cov[np.triu_indices(9)]]


def _many_records() -> bytes:
    small = {"classificationMarking": "U", "dataMode": "TEST", "source": "s", "ts": "x"}
    return json.dumps([small] * (MAX_RECORDS + 1)).encode()


def _two_at_one_epoch() -> bytes:
    return body(record(vectors=[vector(), vector()]))


#: (name, body, reason, index, field): the first refusal expected.
CORPUS: list[tuple[str, bytes, str, int | None, str]] = [
    # the input as a whole
    ("empty body", b"", "not_json", WHOLE, ""),
    ("truncated", body()[:-5], "not_json", WHOLE, ""),
    ("not JSON", b"<xml/>", "not_json", WHOLE, ""),
    ("trailing garbage", body() + b" x", "not_json", WHOLE, ""),
    ("byte order mark", b"\xef\xbb\xbf" + body(), "not_json", WHOLE, ""),
    ("NaN literal", _literal(b"NaN"), "not_json", WHOLE, ""),
    ("Infinity literal", _literal(b"-Infinity"), "not_json", WHOLE, ""),
    ("hexadecimal number", _literal(b"0x10"), "not_json", WHOLE, ""),
    (
        "lone surrogate escape",
        _raw(f"[{_record_text(trackId='x')}]").replace(b'"x"', b'"\\ud800"'),
        "not_json",
        WHOLE,
        "",
    ),
    ("an object, not an array", json.dumps(record()).encode(), "shape", WHOLE, ""),
    ("a string, not an array", b'"createBulk"', "shape", WHOLE, ""),
    ("empty array", b"[]", "shape", WHOLE, ""),
    ("deep nesting", _deep(100_000), "too_deep", WHOLE, ""),
    ("too many records", _many_records(), "too_many", WHOLE, ""),
    ("oversize", b"[" + b" " * MAX_BODY_BYTES + b"]", "too_large", WHOLE, ""),
    # one record: JSON shape and types
    ("a number for a record", b"[1]", "shape", 0, "[0]"),
    (
        "nesting where a number goes",
        body(record(vectors=[vector(pos=[[[[1.0]]], 2.0, 3.0])])),
        "shape",
        0,
        "[0].vectors[0].pos[0]",
    ),
    (
        "string for a number",
        body(record(vectors=[vector(pos=["1", 2.0, 3.0])])),
        "shape",
        0,
        "[0].vectors[0].pos[0]",
    ),
    (
        "two numbers for a position",
        body(record(vectors=[vector(pos=[1.0, 2.0])])),
        "shape",
        0,
        "[0].vectors[0].pos",
    ),
    ("string for a flag", body(record(boosting="true")), "shape", 0, "[0].boosting"),
    ("float for an integer", body(record(trkQual=7.5)), "shape", 0, "[0].trkQual"),
    ("repeated key", _raw(f'[{_record_text()[:-1]}, "trackId": "other"}}]'), "shape", 0, "[0]"),
    (
        "repeated key in a vector",
        _raw("[" + _record_text().replace('"epoch"', '"idSensor": "a", "epoch"', 1) + "]"),
        "shape",
        0,
        "[0]",
    ),
    (
        "invalid UTF-8 in a string",
        _raw(f"[{_record_text(trackId='x')}]").replace(b'"x"', b'"\xff"'),
        "not_json",
        WHOLE,
        "",
    ),
    ("unknown field", body(record(trackNumber=7)), "unknown_field", 0, "[0].trackNumber"),
    (
        "unknown vector field",
        body(record(vectors=[vector(posKm=[1, 2, 3])])),
        "unknown_field",
        0,
        "[0].vectors[0].posKm",
    ),
    # required fields
    (
        "no classification",
        body(record(classificationMarking=DROP)),
        "required",
        0,
        "[0].classificationMarking",
    ),
    ("no track id", body(record(trackId=DROP)), "required", 0, "[0].trackId"),
    ("no vectors", body(record(vectors=DROP)), "required", 0, "[0].vectors"),
    ("empty vectors", body(record(vectors=[])), "required", 0, "[0].vectors"),
    ("no position", body(record(vectors=[vector(pos=DROP)])), "required", 0, "[0].vectors[0].pos"),
    ("no epoch", body(record(vectors=[vector(epoch=DROP)])), "required", 0, "[0].vectors[0].epoch"),
    # values
    ("number beyond a double", _literal(b"1e400"), "not_finite", 0, "[0].vectors[0].pos[0]"),
    ("a 5000-digit number", _literal(b"9" * 5000), "not_finite", 0, "[0].vectors[0].pos[0]"),
    ("absurd integer", body(record(trkQual=10**30)), "value", 0, "[0].trkQual"),
    ("track quality 16", body(record(trkQual=16)), "value", 0, "[0].trkQual"),
    ("data mode LIVE", body(record(dataMode="LIVE")), "data_mode", 0, "[0].dataMode"),
    ("track id too long", body(record(trackId="T" * 129)), "value", 0, "[0].trackId"),
    ("launch latitude 91", body(record(launchLat=91.0)), "latitude", 0, "[0].launchLat"),
    ("impact longitude -181", body(record(impactLon=-181.0)), "longitude", 0, "[0].impactLon"),
    ("impact confidence 150 %", body(record(impactConf=150.0)), "value", 0, "[0].impactConf"),
    # times
    ("receipt time not a time", body(record(ts="yesterday")), "epoch", 0, "[0].ts"),
    (
        "epoch without a zone",
        body(record(vectors=[vector(epoch="2026-11-24T00:10:05")])),
        "epoch",
        0,
        "[0].vectors[0].epoch",
    ),
    (
        "epoch on 30 February",
        body(record(vectors=[vector(epoch="2026-02-30T00:00:00Z")])),
        "epoch",
        0,
        "[0].vectors[0].epoch",
    ),
    (
        "epoch in a leap second",
        body(record(vectors=[vector(epoch="2016-12-31T23:59:60Z")])),
        "epoch",
        0,
        "[0].vectors[0].epoch",
    ),
    (
        "epoch in other digits",
        body(record(vectors=[vector(epoch="\uff12\uff10\uff12\uff16-11-24T00:10:05Z")])),
        "epoch",
        0,
        "[0].vectors[0].epoch",
    ),
    ("two vectors at one epoch", _two_at_one_epoch(), "value", 0, "[0].vectors[1].epoch"),
    # frames
    (
        "vectors in TEME",
        body(record(vectors=[vector(referenceFrame="TEME")])),
        "frame",
        0,
        "[0].vectors[0].referenceFrame",
    ),
    (
        "covariance in GCRF",
        body(record(vectors=[vector(covReferenceFrame="GCRF")])),
        "frame",
        0,
        "[0].vectors[0].covReferenceFrame",
    ),
    # physics, in ECEF
    (
        "underground",
        body(record(vectors=[vector(pos=_km(40.0, 133.0, -5_000.0))])),
        "altitude",
        0,
        "[0].vectors[0].pos",
    ),
    (
        "beyond 50,000 km",
        body(record(vectors=[vector(pos=_km(40.0, 133.0, 60_000_000.0))])),
        "altitude",
        0,
        "[0].vectors[0].pos",
    ),
    (
        "at the Earth's centre",
        body(record(vectors=[vector(pos=[0.0, 0.0, 0.0])])),
        "altitude",
        0,
        "[0].vectors[0].pos",
    ),
    (
        "12 km/s",
        body(record(vectors=[vector(vel=[12.0, 0.0, 0.0])])),
        "speed",
        0,
        "[0].vectors[0].vel",
    ),
    (
        "a huge velocity",
        body(record(vectors=[vector(vel=[1e300, 0.0, 0.0])])),
        "speed",
        0,
        "[0].vectors[0].vel",
    ),
    (
        "a position that overflows in metres",
        body(record(vectors=[vector(pos=[1e306, 0.0, 0.0])])),
        "not_finite",
        0,
        "[0].vectors[0].pos",
    ),
    # covariances
    (
        "20 covariance values",
        body(record(vectors=[vector(cov=[0.01] * 20)])),
        "covariance",
        0,
        "[0].vectors[0].cov",
    ),
    (
        "30 covariance values",
        body(record(vectors=[vector(cov=[0.01] * 30)])),
        "covariance",
        0,
        "[0].vectors[0].cov",
    ),
    (
        "46 covariance values",
        body(record(vectors=[vector(cov=[0.01] * 46)])),
        "covariance",
        0,
        "[0].vectors[0].cov",
    ),
    (
        "indefinite covariance",
        body(record(vectors=[vector(cov=_indefinite())])),
        "covariance",
        0,
        "[0].vectors[0].cov",
    ),
    (
        "negative variance",
        body(record(vectors=[vector(cov=diagonal_cov(-0.04, 0.04, 0.04, 1e-4, 1e-4, 1e-4))])),
        "covariance",
        0,
        "[0].vectors[0].cov",
    ),
    (
        "indefinite 45-value covariance",
        body(record(vectors=[vector(cov=_indefinite45())])),
        "covariance",
        0,
        "[0].vectors[0].cov",
    ),
    (
        "UVW with the velocity along the position",
        body(record(vectors=[vector(vel=[p / 10_000 for p in POS_KM], covReferenceFrame="UVW")])),
        "covariance",
        0,
        "[0].vectors[0].cov",
    ),
    # assessments
    (
        "launch point without a time",
        body(
            record(
                launchLat=39.0, launchLon=125.0, launchAouType="ELLIPSE", launchAouData=[0, 1, 1]
            )
        ),
        "required",
        0,
        "[0].launchTime",
    ),
    (
        "impact AOU a bearing box",
        body(
            record(
                impactLat=40.0,
                impactLon=136.0,
                impactTime="2026-11-24T00:12:00Z",
                impactAouType="BEARING",
                impactAouData=[0, 1, 1],
            )
        ),
        "value",
        0,
        "[0].impactAouType",
    ),
]
