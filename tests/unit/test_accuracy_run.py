"""The accuracy benchmark end to end on the default scenario, one seed, through the CLI.

The run takes ~8 s of CPU (more on a busy machine): the tests that read it are slow.
"""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from typing import Any

import pytest

from warnlink.accuracy.run import scenario_files
from warnlink.accuracy.table import BEGIN, END, format_accuracy, replace_table
from warnlink.cli import main
from warnlink.errors import ConfigError
from warnlink.sim.scenario import default_scenario_path

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("accuracy") / "accuracy.json"
    capture = tmp_path_factory.mktemp("stdout") / "stdout.json"
    with capture.open("w") as handle, contextlib.redirect_stdout(handle):
        status = main(
            [
                "bench",
                "accuracy",
                "--seeds",
                "1",
                "--scenario",
                str(default_scenario_path()),
                "--json",
                "--out",
                str(out),
            ]
        )
    assert status == 0
    printed = json.loads(capture.read_text())
    assert printed == json.loads(out.read_text())
    return printed


@pytest.mark.slow
def test_every_party_gets_a_launch_report(result: dict[str, Any]) -> None:
    (scenario,) = result["scenarios"]
    assert scenario["leaks"] == 0
    assert set(scenario["first_launch_report"]) == {"ROK", "JPN", "USA"}
    for seen in scenario["first_launch_report"].values():
        assert seen["never"] == 0
        assert 0.0 < seen["first_launch_report_s"]["max"] < 180.0
        assert seen["delay_after_first_track_s"]["max"] >= 0.0


@pytest.mark.slow
def test_impact_predictions_are_near_the_truth(result: dict[str, Any]) -> None:
    (scenario,) = result["scenarios"]
    assert scenario["by_originator"]
    for figures in scenario["by_originator"].values():
        late = figures["ipp_after_burnout"]["120"]["error_km"]
        assert late["n"] == 1
        assert math.isfinite(late["rms"])
        assert late["rms"] < 20.0
        assert 0.0 <= figures["coverage_95"] <= 1.0
        assert figures["launch_point_error_km"]["rms"] < 100.0


@pytest.mark.slow
def test_pictures_hold_the_missile_once(result: dict[str, Any]) -> None:
    (scenario,) = result["scenarios"]
    for picture in scenario["pictures"].values():
        assert picture["truth_samples"] > 50
        assert picture["dual_track_rate"] == 0.0
        assert picture["gospa_m"]["mean"] < scenario["gospa_cutoff_m"]


@pytest.mark.slow
def test_the_reference_ran_on_the_same_plots(result: dict[str, Any]) -> None:
    reference = result["scenarios"][0]["reference"]
    assert reference["warnlink"]["rmse_m"] < 2_000.0
    if result["stonesoup"] != "not installed":
        assert reference["stonesoup"]["rmse_m"] < 2_000.0
        assert reference["stonesoup"]["updates"] == reference["warnlink"]["updates"]
        assert reference["throughput_ratio"] > 0.0


@pytest.mark.slow
def test_targets_and_table(result: dict[str, Any]) -> None:
    assert result["targets"]
    assert {v["met"] for v in result["targets"]} <= {True, False, None}
    text = format_accuracy(result)
    assert "scenario default" in text
    assert "targets" in text
    assert ("MISSED" in text) == any(v["met"] is False for v in result["targets"])


def test_scenario_files_skip_the_federation() -> None:
    names = {p.name for p in scenario_files(ROOT / "scenarios")}
    assert "default_scenario.toml" in names
    assert "trilateral.toml" not in names


def test_zero_seeds_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "accuracy", "--seeds", "0"]) == 2
    assert "--seeds" in capsys.readouterr().err


def test_the_doc_block_is_replaced_between_its_markers() -> None:
    doc = f"intro\n{BEGIN}\nold table\n{END}\nafter\n"
    new = replace_table(doc, "NEW TABLE", "warnlink bench accuracy --seeds 2")
    assert new.startswith("intro\n")
    assert new.endswith(f"{END}\nafter\n")
    assert "old table" not in new
    assert "$ warnlink bench accuracy --seeds 2\nNEW TABLE" in new
    with pytest.raises(ConfigError, match="block"):
        replace_table("no markers", "T", "c")
