"""Figures for the ballistic radar tracker on the default flight seen by ROK-GR1.

Prints the filter's update rate (one `ukf_predict` + `ukf_update` per plot, best of several
passes over one run's plots), its mean NEES over 20 Monte Carlo runs with the matched
(q = 0) and the default process noise, and the position RMSE from 60 s after initiation.
The rate is also given as a ratio to one `predict_impact` timed in the same process. Run:
``.venv/bin/python bench/bench_radar_tracker.py``.
"""

from __future__ import annotations

import math
import platform
import time

import numpy as np

from warnlink.estimation.impact import predict_impact
from warnlink.estimation.radar_tracker import track_ballistic
from warnlink.estimation.ukf import DEFAULT_Q_M2_S3, ukf_predict, ukf_update
from warnlink.sim.measurements import radar_measurements
from warnlink.sim.scenario import default_scenario_path, load_scenario, simulate_scenario

RUNS = 20


def main() -> None:
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} "
        f"python {platform.python_version()} numpy {np.__version__}"
    )
    scenario = load_scenario(default_scenario_path())
    tr = simulate_scenario(scenario)["L1"]
    radar = next(s for s in scenario.sensors if s.name == "ROK-GR1")
    start = tr.launch_time_s + tr.burnout_time_s + 1.0
    plots = [
        p for p in radar_measurements(tr, radar, np.random.default_rng(0)) if p.time_s >= start
    ]
    reports = track_ballistic(plots, sensors=[radar], track_number=1, party="ROK", start_s=start)
    mean0, cov0 = reports[0].state, reports[0].cov
    rest = plots[3:]

    def one_pass() -> float:
        mean, cov, t = mean0, cov0, plots[2].time_s
        begin = time.perf_counter()
        for p in rest:
            mean, cov = ukf_predict(mean, cov, p.time_s - t)
            mean, cov, _ = ukf_update(mean, cov, p, radar)
            t = p.time_s
        return time.perf_counter() - begin

    per_update_s = min(one_pass() for _ in range(5)) / len(rest)
    ipp_times = []
    for _ in range(20):
        begin = time.perf_counter()
        predict_impact(mean0[:3], mean0[3:], cov0)
        ipp_times.append(time.perf_counter() - begin)
    ipp_s = min(ipp_times)
    print(
        f"ROK-GR1 ({radar.update_s:.0f} s revisit, {radar.range_sigma_m:.0f} m, "
        f"{radar.angle_sigma_mrad} mrad): {len(plots)} post-boost plots"
    )
    print(
        f"ukf_predict + ukf_update: {per_update_s * 1e6:.0f} us per update "
        f"({1.0 / per_update_s:.0f} updates/s for one track; one predict_impact = "
        f"{ipp_s / per_update_s:.0f} updates)"
    )
    for label, q in (("q = 0 (matched, vacuum truth)", 0.0), ("default q", DEFAULT_Q_M2_S3)):
        nees, late = [], []
        for run in range(RUNS):
            plots_run = radar_measurements(tr, radar, np.random.default_rng(run))
            reps = track_ballistic(
                plots_run, sensors=[radar], track_number=1, party="ROK", start_s=start, q=q
            )
            times = np.array([r.time_s for r in reps])
            err = np.array([r.state for r in reps]) - tr.states_at(times - tr.launch_time_s)
            nees += [float(e @ np.linalg.solve(r.cov, e)) for r, e in zip(reps, err, strict=True)]
            late.append(err[times >= times[0] + 60.0, :3])
        pos = np.concatenate(late)
        rmse = math.sqrt(float(np.mean(np.sum(pos**2, axis=1))))
        print(
            f"{label} ({q} m^2/s^3): mean NEES {np.mean(nees):.2f} over {RUNS} runs x "
            f"{len(nees) // RUNS} updates (chi2(6) mean 6); position RMSE after 60 s {rmse:.0f} m"
        )


if __name__ == "__main__":
    main()
