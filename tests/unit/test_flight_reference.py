"""Flight descriptions, the ballistic test, and the published-launch check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from warnlink.cli import main
from warnlink.errors import ConfigError
from warnlink.geo.wgs84 import GM_M3_S2, MEAN_RADIUS_M
from warnlink.model import RangeClass
from warnlink.physics.kepler import minimum_energy_range_of_state_m, minimum_energy_shot
from warnlink.sim.flight import describe_flight
from warnlink.sim.launch import LaunchSpec
from warnlink.sim.reference import check_launch, read_launches

HEADER = "date,launch_jst,site,apogee_km,apogee_at_least,range_km,flight_min,impact_area\n"


def test_default_flight_is_described() -> None:
    flight = describe_flight(LaunchSpec(39.2, 125.67, 78.0, 900.0, apogee_km=450.0))
    assert flight.ballistic
    assert flight.range_km == pytest.approx(900.0, rel=0.01)
    assert flight.apogee_km == pytest.approx(450.0, rel=0.02)
    assert flight.burnout is not None
    assert 0.0 < flight.burnout.time_s < 200.0
    assert 50.0 < flight.burnout.altitude_km < 200.0
    assert flight.min_energy_range_km is not None
    assert 1000.0 < flight.min_energy_range_km < 1300.0  # lofted: more energy than 900 km needs
    assert flight.range_class is RangeClass.MRBM


def test_lofted_flight_is_classed_by_its_minimum_energy_range() -> None:
    flight = describe_flight(LaunchSpec(39.25, 125.87, 90.0, 1000.0, apogee_km=4475.0))
    assert flight.range_km == pytest.approx(1000.0, rel=0.01)
    assert flight.min_energy_range_km is not None
    assert flight.min_energy_range_km > 5500.0
    assert flight.range_class is RangeClass.ICBM


@pytest.mark.parametrize("beta", [None, 10_000.0])
def test_depressed_request_is_flown_and_flagged_not_ballistic(beta: float | None) -> None:
    spec = LaunchSpec(39.2, 125.67, 90.0, 450.0, apogee_km=50.0, ballistic_coefficient_kg_m2=beta)
    flight = describe_flight(spec)
    assert not flight.ballistic
    assert flight.reason is not None
    assert "100 km" in flight.reason
    assert flight.range_km == pytest.approx(450.0, rel=0.01)
    assert flight.apogee_km == pytest.approx(50.0, rel=0.02)
    assert flight.burnout is not None
    assert flight.burnout.altitude_km < 50.0
    assert flight.flight_time_s is not None
    assert 150.0 < flight.flight_time_s < 400.0


def test_short_minimum_energy_flight_that_stays_low_is_flagged() -> None:
    flight = describe_flight(LaunchSpec(39.2, 125.67, 90.0, 300.0))
    assert flight.flight_time_s is not None
    assert flight.apogee_km is not None
    assert flight.apogee_km <= 100.0
    assert not flight.ballistic


def _table(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "launches.csv"
    path.write_text("# comment\n" + HEADER + "".join(row + "\n" for row in rows))
    return path


def test_rows_get_their_verdicts(tmp_path: Path) -> None:
    path = _table(
        tmp_path,
        "2019-10-02,07:10,off Wonsan (submarine),900,no,450,17,EEZ",
        "2019-10-02,07:10,off Wonsan (submarine),900,no,450,25,EEZ",
        "2019-10-02,07:10,off Wonsan (submarine),900,yes,450,20,EEZ",
        "2019-07-25,05:34,off Wonsan (submarine),50,no,600,8,sea",
        "2020-01-01,00:00,Atlantis,900,no,450,17,sea",
    )
    verdicts = [check_launch(row).verdict for row in read_launches(path)]
    assert verdicts == ["pass", "fail", "lower_bound", "not_ballistic", "error"]


def test_validate_launches_cli_json_and_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _table(tmp_path, "2019-10-02,07:10,off Wonsan (submarine),900,no,450,17,EEZ")
    assert main(["validate", "launches", str(good), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["verdict"] == "pass"
    assert row["ballistic"] is True
    assert abs(row["relative_error"]) <= 0.10
    bad = _table(tmp_path, "2019-10-02,07:10,off Wonsan (submarine),900,no,450,25,EEZ")
    assert main(["validate", "launches", str(bad)]) == 1


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["2019-10-02,07:10,Sunan,high,no,450,17,EEZ"], "apogee_km is not a number"),
        (["2019-10-02,07:10,Sunan,900,maybe,450,17,EEZ"], "yes or no"),
        (["2019-10-02,07:10,Sunan,900,no,450"], "expected 8 columns"),
    ],
)
def test_malformed_rows_name_the_line(tmp_path: Path, rows: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        read_launches(_table(tmp_path, *rows))
    assert info.value.line == 3


def test_wrong_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(ConfigError, match="header"):
        read_launches(path)


def test_minimum_energy_range_of_a_state_matches_the_kepler_shot() -> None:
    shot = minimum_energy_shot(2000e3)
    # A surface state with the shot's speed, pointing anywhere: energy alone decides.
    speed = shot.speed_mps
    range_m = minimum_energy_range_of_state_m((MEAN_RADIUS_M, 0.0, 0.0), (0.0, speed, 0.0))
    assert range_m == pytest.approx(2000e3, rel=1e-6)
    # The same energy higher up, with the speed it has there, gives the same range.
    r = MEAN_RADIUS_M + 300e3
    v = (speed**2 - 2 * GM_M3_S2 * (1 / MEAN_RADIUS_M - 1 / r)) ** 0.5
    assert minimum_energy_range_of_state_m((0.0, 0.0, r), (v, 0.0, 0.0)) == pytest.approx(
        2000e3, rel=1e-6
    )
