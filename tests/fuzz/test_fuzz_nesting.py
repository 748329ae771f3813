"""Deep nesting against every decoder (issue 17, finding 1): maps and arrays nested up
to 3,000 deep, alone or in place of a valid message's payload, give a typed error,
never `RecursionError`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import envelope, track
from tests.fuzz.harness import nested, typed_or_value
from tests.property.profiles import fuzz_settings
from warnlink.errors import ConfigError, MessageError, StoreError
from warnlink.faults.poison import with_payload
from warnlink.model import decode
from warnlink.security.signing import KeySet
from warnlink.sharing.audit import read_log
from warnlink.sharing.audit_proof import decode_proof
from warnlink.sharing.federation import parse_federation
from warnlink.sources.cot_decode import decode_tak, decode_xml
from warnlink.sources.udl_decode import decode_batch

pytestmark = pytest.mark.fuzz

SHORT = 30
SEED = envelope(track())


@fuzz_settings(SHORT)
@given(data=nested("msgpack"), inside=st.booleans())
def test_deep_msgpack_envelopes(data: bytes, inside: bool) -> None:
    raw = with_payload(SEED, data) if inside else data
    typed_or_value("nesting.msgpack", lambda: decode(raw), MessageError)


@fuzz_settings(SHORT)
@given(data=nested("json"))
def test_deep_json_everywhere(data: bytes, tmp_path_factory: pytest.TempPathFactory) -> None:
    typed_or_value("nesting.json.envelope", lambda: decode(data, "json"), MessageError)
    typed_or_value("nesting.json.proof", lambda: decode_proof(data), MessageError)
    text = data.decode()
    typed_or_value("nesting.json.keyset", lambda: KeySet.from_json(text), ConfigError)
    text = '{"ed25519": ' + text + "}"
    typed_or_value("nesting.json.keyset_inner", lambda: KeySet.from_json(text), ConfigError)
    log = tmp_path_factory.mktemp("audit") / "relay-USA.jsonl"
    log.write_bytes(data + b"\n")
    typed_or_value("nesting.json.audit", lambda: list(read_log(log)), StoreError)
    refusals = decode_batch(b"[" + data + b"]")[1]
    assert refusals  # nothing nested is a MissileTrack


@fuzz_settings(SHORT)
@given(data=nested("toml"))
def test_deep_toml(data: bytes) -> None:
    typed_or_value("nesting.toml", lambda: parse_federation(data.decode()), ConfigError)


@fuzz_settings(SHORT)
@given(depth=st.integers(1, 3000))
def test_deep_cot(depth: int) -> None:
    xml = b"<event>" + b"<detail>" * depth + b"</detail>" * depth + b"</event>"
    typed_or_value("nesting.cot.xml", lambda: decode_xml(xml), MessageError)
    tak = b"\x0b" * depth  # groups (field 1) opened in an unknown field: protobuf's limit
    typed_or_value("nesting.cot.tak", lambda: decode_tak(tak), MessageError)
