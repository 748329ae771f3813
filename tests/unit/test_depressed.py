"""The depressed-flight scenario: it loads, flies with drag, and is flagged not ballistic."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from warnlink.cli import main
from warnlink.estimation.radar_tracker import track_ballistic
from warnlink.sim.flight import describe_flight
from warnlink.sim.measurements import radar_measurements
from warnlink.sim.scenario import load_scenario, simulate_party, simulate_scenario

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "depressed_srbm.toml"
RUNS = 6
NEES_BOUNDS = (21.34 / RUNS, 54.44 / RUNS)
"""95 % interval of a 6-run average of chi2(6) (chi-square, 36 degrees of freedom)."""


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


def test_drag_filter_tracks_a_depressed_flight_and_learns_its_beta() -> None:
    # The whole flight is in the air: drag is observable from the first plots on.
    scenario = load_scenario(SCENARIO)
    trajectory = simulate_scenario(scenario)["L1"]
    truth = scenario.launches[0].spec.ballistic_coefficient_kg_m2
    assert truth is not None
    radar = next(s for s in scenario.sensors if s.name == "JPN-SHIP1")
    start = trajectory.launch_time_s + trajectory.burnout_time_s + 1.0
    means = []
    for run in range(RUNS):
        plots = radar_measurements(trajectory, radar, np.random.default_rng(run))
        reports = track_ballistic(
            plots, sensors=[radar], track_number=1, party="JPN", start_s=start, q=0.0
        )
        assert len(reports) > 30
        times = np.array([r.time_s for r in reports]) - trajectory.launch_time_s
        errors = np.array([r.state for r in reports]) - trajectory.states_at(times)
        means.append(
            np.mean([e @ np.linalg.solve(r.cov, e) for e, r in zip(errors, reports, strict=True)])
        )
        beta, sigma = (
            reports[-1].ballistic_coefficient_kg_m2,
            reports[-1].ballistic_coefficient_sigma_kg_m2,
        )
        assert beta is not None
        assert sigma is not None
        assert sigma < 0.05 * truth
        assert abs(beta - truth) < 3.0 * sigma
    assert NEES_BOUNDS[0] < np.mean(means) < NEES_BOUNDS[1], means


def test_trajectory_cli_drag_lengthens_the_flight(capsys: pytest.CaptureFixture[str]) -> None:
    times = {}
    for label, extra in (
        ("drag", []),
        ("vacuum", ["--vacuum"]),
        ("blunt", ["--ballistic-coefficient", "2000"]),
    ):
        assert (
            main(["trajectory", "--apogee-km", "450", "--range-km", "900", "--json", *extra]) == 0
        )
        times[label] = json.loads(capsys.readouterr().out)["flight_time_s"]
    assert times["vacuum"] < times["drag"] < times["blunt"]
