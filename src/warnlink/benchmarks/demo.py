"""Figure 5: the embedded demo's wall time at maximum speed, against its simulation alone.

`warnlink.demo.run_demo` plays the packaged default scenario through the packaged
trilateral federation in one process on the embedded `MemoryBus` (SQLite WAL log in a
temporary folder), as fast as it computes. The reference, in the same run, is the part
of it that is simulation, not warning: flying every launch (`simulate_scenario`) and
every party's national tracker over its sensors' plots (`simulate_party`), as the demo
does first. The ratio says how much the sharing, fusion and alerting add to it.
"""

from __future__ import annotations

import asyncio
from typing import Final

import numpy as np

from warnlink.benchmarks.figure import Result, best_seconds, figure
from warnlink.demo import run_demo
from warnlink.sim.scenario import default_scenario_path, load_scenario, simulate_party
from warnlink.sim.scenario import simulate_scenario as fly

SEED: Final = 1


def _simulate() -> None:
    scenario = load_scenario(default_scenario_path())
    rng = np.random.default_rng(SEED)
    trajectories = fly(scenario)
    for party in scenario.parties:
        simulate_party(scenario, trajectories, party, rng)


def run(quick: bool = False) -> Result:
    """Figure 5 (see the module docstring); the best of 1 (quick) or 3 rounds."""
    rounds = 1 if quick else 3
    summary: dict[str, object] = {}

    def demo() -> None:
        summary.update(asyncio.run(run_demo(seed=SEED)))

    demo_s = best_seconds(demo, rounds)
    simulation_s = best_seconds(_simulate, rounds)
    scenario = load_scenario(default_scenario_path())
    return Result(
        "demo",
        [
            figure(
                "demo.wall",
                demo_s,
                "s",
                "simulation alone (flights, national trackers)",
                simulation_s,
            )
        ],
        {
            "scenario": scenario.name,
            "launches": len(scenario.launches),
            "seed": SEED,
            "transport": "memory (SQLite WAL file in a temporary folder)",
            "rounds": rounds,
            "leaks": summary.get("leaks"),
        },
    )
