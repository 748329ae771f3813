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
    assert "ROK reaches JPN (USA), USA (direct)" in out
    assert "USA reaches JPN (direct), ROK (direct)" in out
    assert "ROK -> USA direct: event_status, impact_prediction" in out
    assert "JPN -> ROK via relay USA (released to USA): event_status" in out


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


def _federation_file(tmp_path: Path, old: str, new: str) -> Path:
    text = TRILATERAL.read_text()
    assert old in text
    path = tmp_path / "fed.toml"
    path.write_text(text.replace(old, new))
    return path


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        (  # JPN's tracks to ROK alone: no link, and USA's relay is not released them
            'kinds = ["track_report"]\nto = ["USA"]',
            'kinds = ["track_report"]\nto = ["ROK"]',
            "JPN releases track_report to ROK, which it can never reach",
        ),
        ('[[relays]]\nparty = "USA"\n', "", "ROK releases event_status to JPN"),
        (
            'classification = "UNCLASSIFIED"\n',
            'classification = "UNCLASSIFIED"\nfreshness_window_s = 1e20\n',
            "freshness_window_s must be 1 to 86400 seconds",
        ),
        (
            'classification = "UNCLASSIFIED"\n',
            'classification = "UNCLASSIFIED"\nfreshness_window_s = 1e-12\n',
            "freshness_window_s must be 1 to 86400 seconds",
        ),
    ],
)
def test_validate_fails_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, says: str
) -> None:
    assert main(["validate", str(_federation_file(tmp_path, old, new))]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.strip().splitlines()
    assert says in line


def test_validate_shows_transit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _federation_file(
        tmp_path,
        'kinds = ["track_report"]\nto = ["USA"]',
        'kinds = ["track_report"]\nto = ["ROK"]\ntransit = ["USA"]',
    )
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "JPN -> ROK via relay USA (trusted for transit): track_report" in out
    assert "JPN -> ROK via relay USA (released to USA): event_status" in out
