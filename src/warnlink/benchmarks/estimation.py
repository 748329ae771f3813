"""Figure 4: estimation rates, against Stone Soup's UKF and against one state at a time.

The plots: the packaged default scenario's first launch seen by the radar party with the
most plots after burnout (`accuracy.stonesoup_ref.reference_plots`, seed 1); every filter
starts alike (`stonesoup_ref.initiate`) and updates on every later plot, 7-state
ballistic model with drag (`estimation.ukf`). A track update is one predict to the
plot's time plus one update with it.

- Stone Soup's UKF (`stonesoup_ref.run_stonesoup`) and warnlink's filter one track at a
  time (`ukf.ukf_predict`, `ukf.ukf_update`, a batch of one, as the trackers run it)
  run over the plots; both handle tracks one after
  another, so their rate does not depend on how many tracks there are.
- The same filter (`estimation.ukf`) updates 100 and 1,000 simultaneous tracks
  at once, each given the same plots (the cost does not depend on the values); its rate
  is tracks x updates / time.
- Error: the position RMSE against the truth of warnlink's filter and Stone Soup's, over
  every update: "10x at no worse error" (`accuracy.targets`: within 1 %, for rounding).
- Impact predictions per second (`estimation.impact.predict_impact`, 13 sigma points
  flown to the ground, the 95 % ellipse) from the filter's state mid-flight, against
  the impact of its mean state alone (`propagate_to_impact` of one state, with the same
  steps: `IPP_STEP_S`, and `COARSE_STEP_S` high above the air).
- Propagation: 10,000 states 60 s ahead in one vectorised call of
  `physics.propagate.propagate` (RK4, 5 s steps, J2, rotating frame), against the same
  propagation one state per call.

Timings are the best of several rounds (the machine is shared).
"""

from __future__ import annotations

import functools
from typing import Any, Final

import numpy as np

from warnlink.accuracy.stonesoup_ref import (
    initiate,
    reference_plots,
    rmse_m,
    run_stonesoup,
    stonesoup_version,
)
from warnlink.accuracy.targets import RMSE_TOLERANCE, THROUGHPUT_RATIO
from warnlink.benchmarks.figure import Figure, Result, best_seconds, figure
from warnlink.estimation.impact import IPP_STEP_S, predict_impact
from warnlink.estimation.ukf import ukf_predict, ukf_predict_many, ukf_update, ukf_update_many
from warnlink.geo.wgs84 import FloatArray, enu_rotation
from warnlink.physics.propagate import COARSE_STEP_S, propagate, propagate_to_impact
from warnlink.sensors.radar import RadarMeasurement
from warnlink.sensors.sensor import Sensor
from warnlink.sim.scenario import default_scenario_path, load_scenario, simulate_scenario

SEED: Final = 1
TRACK_COUNTS: Final = (100, 1_000)
PROPAGATED_STATES: Final = 10_000
PROPAGATE_S: Final = 60.0
PROPAGATE_STEP_S: Final = 5.0


def _single(
    start: tuple[FloatArray, FloatArray, float, Any], by_name: dict[str, Sensor]
) -> list[tuple[float, FloatArray, FloatArray]]:
    """warnlink's single-track filter over the plots: (time_s, state, covariance) per update."""
    mean, cov, t, rest = start
    out = []
    for plot in rest:
        mean, cov = ukf_predict(mean, cov, plot.time_s - t)
        mean, cov, _ = ukf_update(mean, cov, plot, by_name[plot.sensor])
        t = plot.time_s
        out.append((t, mean, cov))
    return out


def _batched(
    start: tuple[FloatArray, FloatArray, float, Any],
    by_name: dict[str, Sensor],
    tracks: int,
) -> FloatArray:
    """The batched filter over `tracks` tracks given the same plots; the last states."""
    mean, cov, t, rest = start
    means = np.repeat(mean[None, :], tracks, axis=0)
    covs = np.repeat(cov[None, :, :], tracks, axis=0)
    sites = {
        name: (
            np.repeat(s.position_ecef_m[None, :], tracks, axis=0),
            np.repeat(enu_rotation(s.lat_deg, s.lon_deg)[None], tracks, axis=0),
        )
        for name, s in by_name.items()
    }
    plot: RadarMeasurement
    for plot in rest:
        means, covs = ukf_predict_many(means, covs, plot.time_s - t)
        site, rotation = sites[plot.sensor]
        z = np.repeat(plot.vector[None, :], tracks, axis=0)
        noise = np.repeat(plot.noise_covariance[None], tracks, axis=0)
        means, covs, _ = ukf_update_many(means, covs, z, noise, site, rotation)
        t = plot.time_s
    return means


def run(quick: bool = False) -> Result:
    """Figure 4 (see the module docstring)."""
    rounds = 1 if quick else 3
    scenario = load_scenario(default_scenario_path())
    launch = scenario.launches[0].id
    trajectory = simulate_scenario(scenario)[launch]
    chosen = reference_plots(scenario, trajectory, SEED)
    if chosen is None:
        raise RuntimeError("the default scenario gives no radar plots after burnout")
    party, radars, plots = chosen
    by_name = {s.name: s for s in radars}
    start = initiate(plots, by_name)
    if start is None:
        raise RuntimeError("the reference plots cannot start a track")
    updates = len(start[3])

    ours = _single(start, by_name)
    ours_s = best_seconds(lambda: _single(start, by_name), rounds)
    ours_rate = updates / ours_s
    ours_rmse = rmse_m([t for t, _, _ in ours], [x for _, x, _ in ours], trajectory)
    figures: list[Figure] = []
    inputs: dict[str, Any] = {
        "scenario": scenario.name,
        "launch": launch,
        "seed": SEED,
        "party": party,
        "radars": sorted(by_name),
        "updates_per_track": updates,
        "rounds": rounds,
        "stonesoup": stonesoup_version(),
    }
    if stonesoup_version() is not None:
        theirs = run_stonesoup(plots, radars)
        theirs_s = best_seconds(lambda: run_stonesoup(plots, radars), rounds)
        theirs_rate = updates / theirs_s
        theirs_rmse = rmse_m([t for t, _ in theirs], [x for _, x in theirs], trajectory)
        no_worse = ours_rmse <= RMSE_TOLERANCE * theirs_rmse
        ref = "Stone Soup UKF, same plots"
        target = f">= {THROUGHPUT_RATIO:g}x reference at no worse RMSE"
        figures.append(
            figure(
                "estimation.ukf.1track",
                ours_rate,
                "updates/s",
                ref,
                theirs_rate,
                target=target,
                met=ours_rate >= THROUGHPUT_RATIO * theirs_rate and no_worse,
            )
        )
        for tracks in TRACK_COUNTS:
            seconds = best_seconds(functools.partial(_batched, start, by_name, tracks), rounds)
            rate = tracks * updates / seconds
            figures.append(
                figure(
                    f"estimation.ukf.{tracks}tracks",
                    rate,
                    "updates/s",
                    ref,
                    theirs_rate,
                    target=target,
                    met=rate >= THROUGHPUT_RATIO * theirs_rate and no_worse,
                )
            )
        figures.append(
            figure(
                "estimation.ukf.rmse",
                ours_rmse,
                "m",
                "Stone Soup UKF position RMSE",
                theirs_rmse,
                target=f"<= {RMSE_TOLERANCE:g}x reference",
                met=no_worse,
            )
        )
    figures += _impact_and_propagation(ours[len(ours) // 2], rounds, inputs)
    return Result("estimation", figures, inputs)


def _impact_and_propagation(
    state: tuple[float, FloatArray, FloatArray], rounds: int, inputs: dict[str, Any]
) -> list[Figure]:
    _, mean, cov = state
    pos, vel, cov6 = mean[:3], mean[3:6], cov[:6, :6]
    count = 20 if rounds == 1 else 50
    ipp_s = best_seconds(lambda: [predict_impact(pos, vel, cov6) for _ in range(count)], rounds)
    point_s = best_seconds(
        lambda: [
            propagate_to_impact(mean[None, :6], step_s=IPP_STEP_S, coarse_step_s=COARSE_STEP_S)
            for _ in range(count)
        ],
        rounds,
    )
    rng = np.random.default_rng(SEED)
    states = mean[:6] + rng.normal(size=(PROPAGATED_STATES, 6)) * np.sqrt(np.diag(cov6))
    one_by_one = states[: PROPAGATED_STATES // 50]
    many_s = best_seconds(lambda: propagate(states, PROPAGATE_STEP_S, PROPAGATE_S), rounds)
    single_s = best_seconds(
        lambda: [propagate(s[None, :], PROPAGATE_STEP_S, PROPAGATE_S) for s in one_by_one],
        rounds,
    )
    inputs["impact"] = {"state": "warnlink filter mid-flight, vacuum", "predictions": count}
    inputs["propagation"] = {
        "states": PROPAGATED_STATES,
        "duration_s": PROPAGATE_S,
        "step_s": PROPAGATE_STEP_S,
        "one_by_one_sample": len(one_by_one),
    }
    return [
        figure(
            "estimation.impact",
            count / ipp_s,
            "predictions/s",
            "impact of the mean state alone (no ellipse)",
            count / point_s,
        ),
        figure(
            "estimation.propagate",
            PROPAGATED_STATES / many_s,
            "states/s",
            "the same, one state per call",
            len(one_by_one) / single_s,
        ),
    ]
