"""Scenario files: the packaged default and the errors a bad file gets."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from warnlink.errors import ConfigError
from warnlink.sim.scenario import (
    Scenario,
    default_scenario_path,
    load_scenario,
    scenario_from_mapping,
)
from warnlink.sim.trajectory import Trajectory


def test_default_scenario_content(default_scenario: Scenario) -> None:
    assert default_scenario.parties == ("JPN", "ROK", "USA")
    assert [launch.id for launch in default_scenario.launches] == ["L1"]
    assert default_scenario.epoch_utc_ns == 1_795_478_400 * 10**9


def test_default_flight_lands_in_the_sea_of_japan_eez(default_trajectory: Trajectory) -> None:
    assert 40.0 < default_trajectory.impact_lat_deg < 41.0
    assert 135.0 < default_trajectory.impact_lon_deg < 137.0
    assert 10 * 60 < default_trajectory.impact_time_s < 14 * 60
    assert 850e3 < default_trajectory.range_m < 1000e3


def raw_default() -> dict[str, object]:
    return tomllib.loads(default_scenario_path().read_text())


def test_wrong_type_names_the_key() -> None:
    data = raw_default()
    data["sensors"][1]["max_range_km"] = "far"  # type: ignore[index]
    with pytest.raises(ConfigError) as info:
        scenario_from_mapping(data, path="x.toml")
    assert info.value.key == "sensors[1].max_range_km"
    assert "x.toml" in str(info.value)


def test_unknown_key_is_refused() -> None:
    data = raw_default()
    data["launches"][0]["rang_km"] = 5.0  # type: ignore[index]
    with pytest.raises(ConfigError, match="rang_km"):
        scenario_from_mapping(data)


def test_invalid_values_name_the_entry() -> None:
    data = raw_default()
    data["launches"][0]["range_km"] = -1.0  # type: ignore[index]
    with pytest.raises(ConfigError) as info:
        scenario_from_mapping(data)
    assert info.value.key == "launches[0].range_km"
    data = raw_default()
    data["sensors"][0]["update_s"] = 0.0  # type: ignore[index]
    with pytest.raises(ConfigError) as info:
        scenario_from_mapping(data)
    assert info.value.key == "sensors[0].update_s"
    data = raw_default()
    data["scenario"]["epoch_utc"] = "yesterday"  # type: ignore[index]
    with pytest.raises(ConfigError) as info:
        scenario_from_mapping(data)
    assert info.value.key == "scenario.epoch_utc"


def test_duplicate_names_are_refused() -> None:
    data = raw_default()
    data["sensors"][1]["name"] = data["sensors"][0]["name"]  # type: ignore[index]
    with pytest.raises(ConfigError, match="duplicate sensor name"):
        scenario_from_mapping(data)


def test_syntax_error_gives_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nname = "x"\nepoch_utc = \n')
    with pytest.raises(ConfigError) as info:
        load_scenario(bad)
    assert info.value.line == 3
    with pytest.raises(ConfigError):
        load_scenario(tmp_path / "missing.toml")


SHIPPED = sorted(
    p
    for p in (Path(__file__).resolve().parents[2] / "scenarios").glob("*.toml")
    if "[scenario]" in p.read_text(encoding="utf-8")
)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_scenario_loads_with_three_parties(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.launches
    assert set(scenario.parties) == {"ROK", "JPN", "USA"}
