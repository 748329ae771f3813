"""Shared fixtures: the packaged default scenario and its flown trajectory (flown once)."""

from __future__ import annotations

import pytest

from warnlink.sim.scenario import Scenario, default_scenario_path, load_scenario, simulate_scenario
from warnlink.sim.trajectory import Trajectory


@pytest.fixture(scope="session")
def default_scenario() -> Scenario:
    return load_scenario(default_scenario_path())


@pytest.fixture(scope="session")
def default_trajectory(default_scenario: Scenario) -> Trajectory:
    return simulate_scenario(default_scenario)["L1"]
