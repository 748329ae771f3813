"""Message model v2: round trips, strictness, typed errors, schema."""

from __future__ import annotations

import contextlib
import json
import math
import re

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import envelope, impact, launch, track
from warnlink.errors import DecodeError, OversizedMessage, UnknownSchemaVersion
from warnlink.model import SCHEMA_VERSION, Ellipse, decode, encode, json_schema
from warnlink.security.commitments import withhold


@pytest.mark.parametrize("fmt", ["json", "msgpack"])
@pytest.mark.parametrize(
    "payload", [track(), launch(), impact()], ids=["track", "launch", "impact"]
)
def test_round_trip(fmt: str, payload: object) -> None:
    original = envelope(payload)  # type: ignore[arg-type]
    assert decode(encode(original, fmt), fmt) == original  # type: ignore[arg-type]


def test_wire_names_follow_udl_vocabulary() -> None:
    text = encode(envelope(impact()), "json").decode()
    for name in (
        "trkId",
        "impactLat",
        "impactLon",
        "impactTime",
        "impactAou",
        "semiMajorM",
        "relTo",
    ):
        assert f'"{name}"' in text


def test_redacted_field_is_absent_on_the_wire() -> None:
    wire = json.loads(encode(withhold(envelope(track()), ("sensor",)), "json"))
    assert "sensor" not in wire["payload"]
    assert "sensor" not in wire["salts"]
    assert "sensor" in wire["commitments"]  # the originator's commitment stays


def test_unknown_field_is_refused() -> None:
    data = encode(envelope(), "json").replace(b'"seq":1', b'"seq":1,"extra":true')
    with pytest.raises(DecodeError, match="unknown field"):
        decode(data, "json")


def test_out_of_range_quality_names_the_field() -> None:
    data = encode(envelope(), "json").replace(b'"trkQual":9', b'"trkQual":16')
    with pytest.raises(DecodeError, match=r"trkQual"):
        decode(data, "json")


def test_negative_variance_is_refused() -> None:
    data = encode(envelope(), "json").replace(b'"cov":[100.0', b'"cov":[-1.0')
    with pytest.raises(DecodeError, match="not positive definite"):
        decode(data, "json")


def test_a_singular_covariance_is_refused_at_the_edge() -> None:
    """A zero covariance would make gating's solve fail inside the picture: a poison
    message that stops a node's inbox. It is refused where it is decoded."""
    zeros = b'"cov":[' + b",".join([b"0.0"] * 21) + b"]"
    data = re.sub(rb'"cov":\[[^\]]*\]', zeros, encode(envelope(), "json"))
    assert zeros in data
    with pytest.raises(DecodeError, match="not positive definite"):
        decode(data, "json")


def test_decode_error_carries_the_message_id_when_readable() -> None:
    original = envelope()
    data = encode(original, "json").replace(b'"trkQual":9', b'"trkQual":"high"')
    with pytest.raises(DecodeError) as info:
        decode(data, "json")
    assert info.value.msg_id == original.msg_id


def test_unknown_schema_version_is_its_own_error() -> None:
    data = encode(envelope(), "json").replace(b'"schema":2', b'"schema":1')
    with pytest.raises(UnknownSchemaVersion) as info:
        decode(data, "json")
    assert info.value.version == 1


def test_future_version_with_another_shape_is_still_a_version_error() -> None:
    data = b'{"schema": 7, "msgId": "x", "somethingNew": {}}'
    with pytest.raises(UnknownSchemaVersion):
        decode(data, "json")


def test_oversized_is_refused_before_parsing() -> None:
    with pytest.raises(OversizedMessage) as info:
        decode(b"\x00" * 100, max_bytes=99)
    assert (info.value.size, info.value.limit) == (100, 99)


def test_ellipse_minor_larger_than_major_is_refused() -> None:
    with pytest.raises(ValueError, match="semi-minor"):
        Ellipse(1.0, 2.0, 0.0)


def test_non_finite_values_are_refused() -> None:
    data = encode(envelope(launch()), "msgpack")
    raw = msgspec.msgpack.decode(data)
    raw["payload"]["launchLat"] = math.nan
    with pytest.raises(DecodeError):
        decode(msgspec.msgpack.encode(raw))


def test_json_schema_describes_the_envelope() -> None:
    schema = json_schema()
    envelope_def = schema["$defs"]["Envelope"]
    assert {"msgId", "schema", "originator", "seq", "created", "label", "payload"} <= set(
        envelope_def["required"]
    )
    assert SCHEMA_VERSION == 2
    assert {"commitments", "salts", "sigPath"} <= set(envelope_def["properties"])


@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_escape_as_other_errors(data: bytes) -> None:
    for fmt in ("msgpack", "json"):
        with contextlib.suppress(DecodeError, UnknownSchemaVersion):
            decode(data, fmt)  # type: ignore[arg-type]


@given(st.data())
def test_mutated_valid_messages_decode_or_fail_typed(data: st.DataObject) -> None:
    raw = bytearray(encode(envelope(launch())))
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.integers(0, 255))
    with contextlib.suppress(DecodeError, UnknownSchemaVersion):
        decode(bytes(raw))
