"""Inputs the fuzzers found that escaped as untyped errors, kept as plain tests."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from tests.factories import TRILATERAL, envelope, track
from warnlink.errors import ConfigError, NestingTooDeep, StoreError
from warnlink.faults.poison import DEEP_MAP
from warnlink.model import decode, encode
from warnlink.security.keystore import KEYSET_FILE, load_keyset
from warnlink.security.signing import KeySet
from warnlink.sharing.audit import read_entries
from warnlink.sharing.federation import RELEASABLE_KINDS, load_federation, parse_federation
from warnlink.sim.reference import read_launches
from warnlink.sim.scenario import load_scenario

NOT_UTF8 = b"\x80# a file that is not UTF-8\n"


@pytest.mark.parametrize(
    ("name", "load"),
    [
        ("federation.toml", load_federation),
        ("scenario.toml", load_scenario),
        ("launches.csv", read_launches),
    ],
)
def test_a_config_file_that_is_not_utf8_is_a_config_error(
    tmp_path: Path, name: str, load: object
) -> None:
    path = tmp_path / name
    path.write_bytes(NOT_UTF8)
    with pytest.raises(ConfigError) as info:
        load(path)  # type: ignore[operator]
    assert info.value.path == str(path)


def test_a_key_set_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / KEYSET_FILE).write_bytes(NOT_UTF8)
    with pytest.raises(ConfigError):
        load_keyset(tmp_path)


def test_an_audit_line_with_bad_utf8_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b'{"\x80decider":"USA"}\n')
    with pytest.raises(StoreError, match=r"audit\.jsonl:1"):
        list(read_entries(path))


def test_deeply_nested_toml_is_a_config_error(tmp_path: Path) -> None:
    text = "a = " + "[" * 5_000 + "]" * 5_000 + "\n"
    with pytest.raises(ConfigError, match="nested too deeply"):
        parse_federation(text)
    (tmp_path / "scenario.toml").write_text(text)
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_scenario(tmp_path / "scenario.toml")


def test_deeply_nested_key_set_json_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        KeySet.from_json('{"ed25519":' + "[" * 100_000)


def test_a_launches_field_over_the_csv_limit_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "launches.csv"
    header = "date,launch_jst,site,apogee_km,apogee_at_least,range_km,flight_min,impact_area"
    path.write_text(f"{header}\n2017-05-14,05:28,{'x' * 200_000},1,no,1,1,x\n")
    with pytest.raises(ConfigError) as info:
        read_launches(path)
    assert info.value.line == 2


@pytest.mark.parametrize("classification", ["", "X" * 65])
def test_a_classification_no_label_can_carry_is_a_config_error(classification: str) -> None:
    """Every label carries the federation's classification; one outside the label's
    bounds made every message undecodable at every receiver."""
    text = TRILATERAL.read_text().replace(
        'classification = "UNCLASSIFIED"', f'classification = "{classification}"'
    )
    with pytest.raises(ConfigError) as info:
        parse_federation(text)
    assert info.value.key == "federation.classification"


def test_every_label_of_the_federation_survives_the_wire() -> None:
    federation = load_federation(TRILATERAL)
    for originator in federation.parties:
        for kind in RELEASABLE_KINDS:
            label = federation.label_for(originator, kind)
            made = msgspec.structs.replace(envelope(track()), label=label)
            assert decode(encode(made)).label == label


def test_the_2000_deep_map_of_issue_17_is_a_typed_error() -> None:
    """Issue 17, finding 1: 6,001 bytes that raised `RecursionError` and ended the relay."""
    with pytest.raises(NestingTooDeep):
        decode(DEEP_MAP)
