"""Scenario files with unbounded numbers are refused at once, naming the key (issue 17).

Offsets of 1e12 s or NaN, ``update_s = 1e-6`` and the year 9999 hung the demo or had
it killed for memory.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.factories import ROOT
from warnlink.cli import main
from warnlink.errors import ConfigError
from warnlink.sim.scenario import default_scenario_path, scenario_from_mapping

#: name -> (table, key, value, the key the error names).
BAD: dict[str, tuple[str, str, Any, str]] = {
    "offset_1e12": ("launches", "offset_s", 1e12, "launches[0].offset_s"),
    "offset_nan": ("launches", "offset_s", float("nan"), "launches[0].offset_s"),
    "offset_inf": ("launches", "offset_s", float("inf"), "launches[0].offset_s"),
    "range_nan": ("launches", "range_km", float("nan"), "launches[0].range_km"),
    "update_1e-6": ("sensors", "update_s", 1e-6, "sensors[0].update_s"),
    "latency_1e12": ("sensors", "latency_s", 1e12, "sensors[0].latency_s"),
    "year_9999": ("scenario", "epoch_utc", "9999-01-01T00:00:00Z", "scenario.epoch_utc"),
    "year_1900": ("scenario", "epoch_utc", "1900-01-01T00:00:00Z", "scenario.epoch_utc"),
}


def _with(table: str, key: str, value: Any) -> dict[str, Any]:
    data = tomllib.loads(default_scenario_path().read_text())
    target = data[table] if table == "scenario" else data[table][0]
    target[key] = value
    return data


@pytest.mark.parametrize("case", sorted(BAD))
def test_an_unbounded_scenario_value_is_a_config_error_naming_its_key(case: str) -> None:
    table, key, value, named = BAD[case]
    with pytest.raises(ConfigError) as info:
        scenario_from_mapping(_with(table, key, value), path="bad.toml")
    assert info.value.key == named


def test_every_shipped_scenario_is_within_the_bounds() -> None:
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        data = tomllib.loads(path.read_text())
        if "launches" in data:
            scenario_from_mapping(data, path=str(path))


def test_demo_refuses_such_a_file_quickly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = default_scenario_path().read_text().replace("update_s = 5.0", "update_s = 1e-6", 1)
    assert "1e-6" in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    assert main(["demo", "--scenario", str(bad), "--data", str(tmp_path / "data")]) == 2
    assert "update_s" in capsys.readouterr().err
