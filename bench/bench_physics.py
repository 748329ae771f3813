"""Figures for the physics and estimation core on the default scenario.

Prints the flown trajectory, each party's reports, impact prediction errors against truth,
launch estimation errors and timings (best of several runs) on this machine. Run:
``.venv/bin/python bench/bench_physics.py``.
"""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np

from warnlink.benchmarks.figure import best_seconds
from warnlink.errors import PhysicsError
from warnlink.estimation.impact import predict_impact
from warnlink.estimation.launch_point import estimate_launch
from warnlink.geo.wgs84 import surface_distance_m
from warnlink.physics.propagate import propagate_to_impact
from warnlink.sim.scenario import (
    Scenario,
    default_scenario_path,
    load_scenario,
    simulate_party,
    simulate_scenario,
)

SALVO = Path(__file__).resolve().parents[1] / "scenarios" / "salvo_srbm.toml"


def launch_figures(scenario: Scenario, seeds: int) -> None:
    """Launch point errors against truth per party, over seeds and launches: from the first
    boost report (what the first launch report says) and from all of them (the last one)."""
    trajectories = simulate_scenario(scenario)
    print(f"LPE, scenario {scenario.name}, {seeds} seeds x {len(trajectories)} launches:")
    for party in scenario.parties:
        rows: dict[str, list[tuple[float, float, float]]] = {"first": [], "all": []}
        for seed in range(seeds):
            reports = simulate_party(scenario, trajectories, party, np.random.default_rng(seed))
            for number, launch in enumerate(scenario.launches, start=1):
                tr = trajectories[launch.id]
                boost = [r for r in reports if r.track_number == number and r.phase == "boost"]
                site = (tr.spec.site_lat_deg, tr.spec.site_lon_deg)
                for key, given in (("first", boost[:1]), ("all", boost)):
                    try:
                        est = estimate_launch(given)
                    except PhysicsError:
                        continue
                    miss = float(surface_distance_m(est.lat_deg, est.lon_deg, *site))
                    z_time = (est.time_s - tr.launch_time_s) / est.time_sigma_s
                    rows[key].append((miss, est.sigma_m, z_time))
        if not rows["all"]:
            print(f"  {party}: no boost report")
            continue
        for key, values in rows.items():
            miss, sigma, z_time = np.array(values).T
            print(
                f"  {party} ({key} boost reports): miss median {np.median(miss):.0f} m, "
                f"max {np.max(miss):.0f} m; sigma (DRMS) median {np.median(sigma):.0f} m; "
                f"mean (miss/sigma)^2 {np.mean((miss / sigma) ** 2):.2f}; "
                f"time error/sigma RMS {np.sqrt(np.mean(z_time**2)):.2f} (n={miss.size})"
            )


def main() -> None:
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} "
        f"python {platform.python_version()}"
    )
    scenario = load_scenario(default_scenario_path())
    trajectories = simulate_scenario(scenario)
    tr = trajectories["L1"]
    print(
        f"L1: flight {tr.impact_time_s:.1f} s ({tr.impact_time_s / 60:.2f} min), burnout "
        f"{tr.burnout_time_s:.1f} s, apogee {tr.apogee_m / 1e3:.1f} km, "
        f"range {tr.range_m / 1e3:.1f} km, "
        f"impact {tr.impact_lat_deg:.4f} N {tr.impact_lon_deg:.4f} E, {tr.t_s.size} samples"
    )
    rng = np.random.default_rng(2026)
    for party in scenario.parties:
        reports = simulate_party(scenario, trajectories, party, rng)
        first = reports[0]
        print(
            f"{party}: {len(reports)} reports, first measured "
            f"{first.time_s - tr.launch_time_s:.0f} s "
            f"after launch, available {first.available_s - tr.launch_time_s:.0f} s"
        )
        misses, nis = [], []
        for r in reports[:: max(1, len(reports) // 25)]:
            if r.phase == "boost":
                continue
            p = predict_impact(
                r.pos_ecef_m,
                r.vel_ecef_mps,
                r.cov,
                ballistic_coefficient_kg_m2=r.ballistic_coefficient_kg_m2,
                ballistic_coefficient_sigma_kg_m2=r.ballistic_coefficient_sigma_kg_m2,
            )
            miss = float(
                surface_distance_m(p.lat_deg, p.lon_deg, tr.impact_lat_deg, tr.impact_lon_deg)
            )
            misses.append(miss)
            nis.append(p.contains(tr.impact_lat_deg, tr.impact_lon_deg))
        print(
            f"  IPP from post-boost reports: median miss {np.median(misses):.0f} m, max "
            f"{np.max(misses):.0f} m, truth inside 95% ellipse {np.mean(nis):.0%} (n={len(nis)})"
        )
    for path, seeds in ((default_scenario_path(), 8), (SALVO, 3)):
        launch_figures(load_scenario(path), seeds)
    state = tr.state_at(200.0)
    cov = np.diag([100.0**2] * 3 + [5.0**2] * 3)
    fly_s = best_seconds(lambda: simulate_scenario(scenario), 5)
    party_s = best_seconds(lambda: simulate_party(scenario, trajectories, "JPN", rng), 5)
    ipp_s = best_seconds(lambda: predict_impact(state[:3], state[3:], cov), 50)
    drag_s = best_seconds(
        lambda: predict_impact(
            state[:3],
            state[3:],
            cov,
            ballistic_coefficient_kg_m2=20_000.0,
            ballistic_coefficient_sigma_kg_m2=40_000.0,
        ),
        50,
    )
    many = np.repeat(state[None, :], 1000, axis=0)
    many[:, 3:] += rng.standard_normal((1000, 3)) * 5.0
    many_s = best_seconds(lambda: propagate_to_impact(many, step_s=5.0), 3)
    print(f"fly default launch: {fly_s * 1e3:.0f} ms; simulate JPN reports: {party_s * 1e3:.0f} ms")
    print(f"predict_impact (13 sigma points, 510 s to go): {ipp_s * 1e3:.2f} ms")
    print(
        f"predict_impact with drag (15 sigma points, beta 20,000 +- 40,000 kg/m^2): "
        f"{drag_s * 1e3:.2f} ms (ratio to vacuum {drag_s / ipp_s:.2f})"
    )
    print(
        f"propagate_to_impact 1000 states, 5 s step: {many_s * 1e3:.0f} ms "
        f"({many_s / 1000 * 1e6:.0f} us/state; ratio to one IPP {many_s / ipp_s:.1f})"
    )


if __name__ == "__main__":
    main()
