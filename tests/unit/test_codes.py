"""A message's codes (`model.codes`): checked once decoded, as their patterns say."""

from __future__ import annotations

import re

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import envelope
from warnlink.errors import DecodeError
from warnlink.model import decode, encode
from warnlink.model.codes import (
    FIELD_NAME_PATTERN,
    MSG_ID_PATTERN,
    PARTY_CODE_PATTERN,
    is_field_name,
    is_msg_id,
    is_party_code,
)

CHECKS = [
    (is_party_code, PARTY_CODE_PATTERN),
    (is_msg_id, MSG_ID_PATTERN),
    (is_field_name, FIELD_NAME_PATTERN),
]
#: Strings near each pattern's edges, from characters either side of its classes.
NEAR = st.text(alphabet="AZaf gz09_-\n\u00c9\u0660", max_size=70)


@given(text=NEAR)
def test_each_check_is_its_pattern_matched_whole(text: str) -> None:
    for check, pattern in CHECKS:
        assert check(text) is (re.fullmatch(pattern.strip("^$"), text) is not None)


@pytest.mark.parametrize(
    ("where", "change"),
    [
        ("msgId", {"msg_id": "0" * 31 + "G"}),
        ("msgId", {"msg_id": "0" * 32 + "\n"}),
        ("derivedFrom", {"derived_from": "x" * 32}),
        ("originator", {"originator": "rok"}),
        ("originator", {"originator": "ROK\n"}),
        ("producer", {"producer": "U"}),
        ("label.relTo[1]", {"rel_to": ("JPN", "usa")}),
        ("label.fieldRelTo.sensor[0]", {"field_rel_to": {"sensor": ("U-S",)}}),
        ("commitments.Sensor", {"commitments": {"Sensor": b"\x00" * 32}}),
        ("salts.1x", {"salts": {"1x": b"\x00" * 16}}),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "msgpack"])
def test_a_code_off_its_pattern_is_refused_where_it_is(
    fmt: str, where: str, change: dict[str, object]
) -> None:
    original = envelope()
    label_change = {k: v for k, v in change.items() if k in ("rel_to", "field_rel_to")}
    rest = {k: v for k, v in change.items() if k not in label_change}
    label = msgspec.structs.replace(original.label, **label_change)
    bad = msgspec.structs.replace(original, label=label, **rest)
    with pytest.raises(DecodeError, match=re.escape(f"- at `$.{where}`")) as info:
        decode(encode(bad, fmt), fmt)  # type: ignore[arg-type]
    assert info.value.msg_id == bad.msg_id
