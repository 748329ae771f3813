"""The depressed-flight scenario: it loads, flies with drag, and is flagged not ballistic."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from warnlink.cli import main
from warnlink.sim.flight import describe_flight
from warnlink.sim.scenario import load_scenario, simulate_party, simulate_scenario

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "depressed_srbm.toml"


def test_depressed_scenario_flies_low_with_drag() -> None:
    scenario = load_scenario(SCENARIO)
    (launch,) = scenario.launches
    assert launch.spec.depressed
    assert launch.spec.ballistic_coefficient_kg_m2 == 10_000.0
    trajectory = simulate_scenario(scenario)["L1"]
    assert trajectory.apogee_m == pytest.approx(50e3, rel=0.02)
    assert trajectory.range_m == pytest.approx(450e3, rel=0.01)
    # Drag brakes the body to well under its burnout speed before impact.
    burnout_speed = float(np.linalg.norm(trajectory.vel_ecef_mps[trajectory.burnout_index]))
    assert float(np.linalg.norm(trajectory.vel_ecef_mps[-1])) < 0.5 * burnout_speed
    flight = describe_flight(launch.spec)
    assert not flight.ballistic
    reports = simulate_party(scenario, {"L1": trajectory}, "JPN", np.random.default_rng(0))
    assert reports  # a party's tracker runs on it (boost draws at least)


def test_trajectory_cli_flies_a_depressed_request(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trajectory", "--apogee-km", "50", "--range-km", "450", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ballistic"] is False
    assert "100 km" in out["reason"]
    assert out["flight_time_s"] > 0.0
    assert out["apogee_km"] == pytest.approx(50.0, rel=0.02)
