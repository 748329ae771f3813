"""The CLI's small commands: schema, validate, and how errors reach the user."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.factories import TRILATERAL
from warnlink.cli import main


def test_schema_prints_the_envelope_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].endswith("2020-12/schema")
    kinds = {
        ref["$ref"].rsplit("/", 1)[-1]
        for ref in schema["$defs"]["Envelope"]["properties"]["payload"]["anyOf"]
    }
    assert kinds == {
        "LaunchReport",
        "TrackReport",
        "ImpactPrediction",
        "EventStatus",
        "Heartbeat",
        "ResendRequest",
        "Resend",
        "TreeHead",
        "HeadCosignature",
    }


def test_schema_ingest_prints_what_the_ingest_port_takes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["schema", "ingest"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].endswith("2020-12/schema")
    assert schema["items"] == {"$ref": "#/$defs/MissileTrack"}
    vector = schema["$defs"]["MissileTrackVector"]
    assert {"epoch", "pos", "vel"} <= set(vector["required"])
    assert "km" in vector["properties"]["pos"]["description"]
    assert schema["$defs"]["MissileTrack"]["additionalProperties"] is False


def test_validate_shows_routes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(TRILATERAL)]) == 0
    out = capsys.readouterr().out
    assert "ROK reaches JPN (USA), USA (USA)" in out
    assert "USA reaches JPN (direct), ROK (direct)" in out


def test_invalid_federation_exits_2_naming_file_line_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(TRILATERAL.read_text().replace('party = "USA"', 'party = "US"'))
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err
    assert "relays[0].party" in err


def test_demo_refuses_a_used_data_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "old.txt").write_text("x")
    assert main(["demo", "--data", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err
