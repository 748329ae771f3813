"""Figure 5: the embedded demo's wall time at maximum speed, against its simulation alone.

`warnlink.demo.run_demo` plays the packaged default scenario through the packaged
trilateral federation in one process on the embedded `MemoryBus` (SQLite WAL log in a
temporary folder), as fast as it computes. The reference, in the same run, is the part
of it that is simulation, not warning: flying every launch (`simulate_scenario`) and
every party's national tracker over its sensors' plots (`simulate_party`), as the demo
does first. The ratio says how much the sharing, fusion and alerting add to it.

Two figures: `demo.wall` (wall time: it includes waiting on the SQLite log's commits)
and `demo.cpu` (this process's CPU time, against the simulation's: the work itself,
less disturbed by other processes on a shared machine than the wall time). Target for
both: at most `TARGET_RATIO` times the simulation alone.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Final

import numpy as np

from warnlink.benchmarks.figure import Result, figure
from warnlink.demo import run_demo
from warnlink.sim.scenario import default_scenario_path, load_scenario, simulate_party
from warnlink.sim.scenario import simulate_scenario as fly

SEED: Final = 1
TARGET_RATIO: Final = 3.0


def _simulate() -> None:
    scenario = load_scenario(default_scenario_path())
    rng = np.random.default_rng(SEED)
    trajectories = fly(scenario)
    for party in scenario.parties:
        simulate_party(scenario, trajectories, party, rng)


def _best_wall_and_cpu(run: Callable[[], object], rounds: int) -> tuple[float, float]:
    """The least wall time and the least CPU time (this process) of `rounds` calls, s."""
    wall = cpu = math.inf
    for _ in range(rounds):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        run()
        wall = min(wall, time.perf_counter() - start_wall)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def run(quick: bool = False) -> Result:
    """Figure 5 (see the module docstring); the best of 1 (quick) or 3 rounds."""
    rounds = 1 if quick else 3
    summary: dict[str, object] = {}

    def demo() -> None:
        summary.update(asyncio.run(run_demo(seed=SEED)))

    demo_s, demo_cpu_s = _best_wall_and_cpu(demo, rounds)
    simulation_s, simulation_cpu_s = _best_wall_and_cpu(_simulate, rounds)
    scenario = load_scenario(default_scenario_path())
    target = f"<= {TARGET_RATIO:g}x"
    return Result(
        "demo",
        [
            figure(
                "demo.wall",
                demo_s,
                "s",
                "simulation alone (flights, national trackers)",
                simulation_s,
                target=target,
                met=demo_s <= TARGET_RATIO * simulation_s,
            ),
            figure(
                "demo.cpu",
                demo_cpu_s,
                "CPU s",
                "simulation alone, CPU s",
                simulation_cpu_s,
                target=target,
                met=demo_cpu_s <= TARGET_RATIO * simulation_cpu_s,
            ),
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
