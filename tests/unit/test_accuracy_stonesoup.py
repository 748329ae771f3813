"""The Stone Soup reference: the same model as warnlink's filter gives the same track."""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
import pytest

from warnlink.accuracy.stonesoup_ref import compare_trackers, run_stonesoup
from warnlink.estimation.radar_tracker import track_ballistic
from warnlink.sim.measurements import radar_measurements
from warnlink.sim.scenario import default_scenario_path, load_scenario, simulate_scenario

SCENARIO = load_scenario(default_scenario_path())
FLIGHT = simulate_scenario(SCENARIO)["L1"]
BURNOUT_S = FLIGHT.launch_time_s + FLIGHT.burnout_time_s


def _plots(radar_name: str, count: int, **moved: float) -> tuple[list, list]:
    radar = next(s for s in SCENARIO.sensors if s.name == radar_name)
    radar = dataclasses.replace(radar, **moved)
    plots = [
        p
        for p in radar_measurements(FLIGHT, radar, np.random.default_rng(3))
        if p.time_s >= BURNOUT_S
    ]
    return [radar], plots[:count]


def test_stonesoup_follows_the_same_track_as_warnlink() -> None:
    pytest.importorskip("stonesoup")
    radars, plots = _plots("ROK-GR1", 40)
    ours = track_ballistic(plots, sensors=radars, track_number=1, party="ROK", start_s=BURNOUT_S)
    theirs = run_stonesoup(plots, radars)
    assert [t for t, _ in theirs] == [r.time_s for r in ours]
    truth = FLIGHT.state_at(ours[-1].time_s - FLIGHT.launch_time_s)
    their_error = float(np.linalg.norm(theirs[-1][1][:3] - truth[:3]))
    our_error = float(np.linalg.norm(ours[-1].pos_ecef_m - truth[:3]))
    assert their_error < 1_000.0
    assert abs(their_error - our_error) < 0.2 * our_error + 20.0


def test_without_stonesoup_the_reference_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "stonesoup", None)
    result = compare_trackers(SCENARIO, FLIGHT, seed=1)
    assert result["stonesoup"] == "not installed"
    assert result["warnlink"]["updates"] > 10
    assert result["warnlink"]["rmse_m"] < 2_000.0
