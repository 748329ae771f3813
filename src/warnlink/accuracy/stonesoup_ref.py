"""Stone Soup's unscented Kalman filter as the reference for warnlink's ballistic radar tracker.

Both filters get the same plots: one party's radars (`warnlink.sim.measurements.
radar_measurements`), of the scenario's first launch, from the true burnout on. Both start
the same way, from `warnlink.estimation.radar_tracker.initial_state` (two-point
differencing on the first plot and the first later one, kappa at its prior), and update on
every plot after that.

Stone Soup (dstl/Stone-Soup, https://stonesoup.readthedocs.io, PyPI ``stonesoup``, an
optional dependency: the ``bench`` extra) runs its ``UnscentedKalmanPredictor`` and
``UnscentedKalmanUpdater`` (default sigma points: alpha 0.5, beta 2, kappa 3 - n) with two
models written here against its model interfaces:

- `BallisticTransition`: the state is ECEF position and velocity and the inverse ballistic
  coefficient kappa; the transition is `warnlink.physics.propagate.propagate` (RK4, J2,
  rotating frame, drag of each sigma point's kappa, steps of at most 5 s), applied to all
  sigma points at once, with the process noise of warnlink's filter
  (`warnlink.estimation.ukf.process_noise` of the same q, and kappa's random walk).
- `RadarMeasurementModel`: range, azimuth, elevation from the radar site
  (`warnlink.sensors.radar.measurement_function`), the azimuth typed as a Stone Soup
  ``Bearing`` and the elevation as an ``Elevation`` so its unscented transform and
  innovations wrap the angles.

So the dynamics, measurement function, noise and initiation are the same; what differs is
the filter machinery (and the sigma point parameters). The figures: position RMSE against
the truth over every update, and updates per second of each filter (the shortest of `TIMING_REPEATS`
runs), timed over the same plots in the same process.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

import numpy as np

from warnlink.estimation.radar_tracker import initial_state, track_ballistic
from warnlink.estimation.ukf import (
    DEFAULT_KAPPA_Q,
    DEFAULT_Q_M2_S3,
    DRAG_STATE_DIM,
    KAPPA_INDEX,
    MAX_STEP_S,
    process_noise,
)
from warnlink.geo.wgs84 import FloatArray
from warnlink.physics.dynamics import FULL_MODEL
from warnlink.physics.propagate import propagate
from warnlink.sensors.radar import RadarMeasurement, measurement_function
from warnlink.sensors.sensor import Sensor
from warnlink.sim.measurements import radar_measurements
from warnlink.sim.scenario import Scenario
from warnlink.sim.trajectory import Trajectory

TIMING_REPEATS: Final = 3
"""Each filter runs this many times over the same plots; the shortest time is kept."""
_EPOCH: Final = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_T = TypeVar("_T")


def stonesoup_version() -> str | None:
    """The installed Stone Soup's version, or None when it cannot be imported."""
    try:
        import stonesoup  # noqa: F401
    except ImportError:
        return None
    return importlib.metadata.version("stonesoup")


def _when(t_s: float) -> dt.datetime:
    return _EPOCH + dt.timedelta(seconds=t_s)


def run_stonesoup(
    plots: Sequence[RadarMeasurement], sensors: Sequence[Sensor], *, q: float = DEFAULT_Q_M2_S3
) -> list[tuple[float, FloatArray]]:
    """Stone Soup's UKF over time-ordered plots: (time_s, state (7,)) per update.

    Raises:
        ImportError: if Stone Soup is not installed.
    """
    from stonesoup.base import Property
    from stonesoup.models.base import TimeVariantModel
    from stonesoup.models.measurement.nonlinear import NonLinearGaussianMeasurement
    from stonesoup.models.transition.nonlinear import GaussianTransitionModel
    from stonesoup.predictor.kalman import UnscentedKalmanPredictor
    from stonesoup.types.angle import Bearing, Elevation
    from stonesoup.types.array import CovarianceMatrix, StateVector, StateVectors
    from stonesoup.types.detection import Detection
    from stonesoup.types.hypothesis import SingleHypothesis
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import UnscentedKalmanUpdater

    class BallisticTransition(GaussianTransitionModel, TimeVariantModel):  # type: ignore[misc]
        """Unpowered flight: warnlink's RK4 J2 propagation of every column of the state."""

        q: float = Property(doc="white acceleration noise PSD per axis, m^2/s^3")

        @property
        def ndim_state(self) -> int:
            return DRAG_STATE_DIM

        def function(self, state: Any, noise: Any = False, **kwargs: Any) -> Any:
            step = kwargs["time_interval"].total_seconds()
            columns = np.array(state.state_vector, dtype=np.float64)
            if step > 0.0:
                model = FULL_MODEL.with_inverse_ballistic_coefficient(columns[KAPPA_INDEX])
                columns[:KAPPA_INDEX] = propagate(
                    columns[:KAPPA_INDEX].T, min(MAX_STEP_S, step), step, model=model
                ).T
            return StateVectors(columns) if columns.shape[1] > 1 else StateVector(columns)

        def covar(self, time_interval: dt.timedelta, **kwargs: Any) -> Any:
            step = time_interval.total_seconds()
            cov = np.zeros((DRAG_STATE_DIM, DRAG_STATE_DIM))
            cov[:KAPPA_INDEX, :KAPPA_INDEX] = process_noise(step, self.q)
            cov[KAPPA_INDEX, KAPPA_INDEX] = DEFAULT_KAPPA_Q * step
            return CovarianceMatrix(cov)

    class RadarMeasurementModel(NonLinearGaussianMeasurement):  # type: ignore[misc]
        """Range, azimuth (a Bearing) and elevation of an ECEF state from one radar."""

        sensor: Sensor = Property(doc="the radar site")

        @property
        def ndim_meas(self) -> int:
            return 3

        def function(self, state: Any, noise: Any = False, **kwargs: Any) -> Any:
            columns = np.asarray(state.state_vector, dtype=np.float64)
            z = measurement_function(columns.T, self.sensor).T
            typed = StateVector([0.0, Bearing(0.0), Elevation(0.0)])
            return typed + (StateVectors(z) if z.shape[1] > 1 else StateVector(z))

    models = {
        s.name: RadarMeasurementModel(
            ndim_state=DRAG_STATE_DIM,
            mapping=(0, 1, 2),
            noise_covar=np.diag(
                [
                    s.range_sigma_m**2,
                    (s.angle_sigma_mrad * 1e-3) ** 2,
                    (s.angle_sigma_mrad * 1e-3) ** 2,
                ]
            ),
            sensor=s,
        )
        for s in sensors
    }
    by_name = {s.name: s for s in sensors}
    predictor = UnscentedKalmanPredictor(BallisticTransition(q=q))
    updater = UnscentedKalmanUpdater(measurement_model=None)
    start = initiate(plots, by_name)
    if start is None:
        return []
    mean, cov, start_s, rest = start
    state = GaussianState(StateVector(mean), CovarianceMatrix(cov), timestamp=_when(start_s))
    out: list[tuple[float, FloatArray]] = []
    for plot in rest:
        detection = Detection(
            StateVector([plot.range_m, Bearing(plot.azimuth_rad), Elevation(plot.elevation_rad)]),
            timestamp=_when(plot.time_s),
            measurement_model=models[plot.sensor],
        )
        prediction = predictor.predict(state, timestamp=detection.timestamp)
        state = updater.update(SingleHypothesis(prediction, detection))
        out.append((plot.time_s, np.asarray(state.state_vector, dtype=np.float64).ravel()))
    return out


def initiate(
    plots: Sequence[RadarMeasurement], by_name: Mapping[str, Sensor]
) -> tuple[FloatArray, FloatArray, float, Sequence[RadarMeasurement]] | None:
    """How both filters start: `initial_state` from the first plot and the first later one.

    Returns:
        (mean (7,), covariance, its time s, the plots to update on), or None when every
        plot has the first one's time.
    """
    first = plots[0]
    later = next((j for j, p in enumerate(plots) if p.time_s > first.time_s), None)
    if later is None:
        return None
    second = plots[later]
    mean, cov = initial_state(first, second, by_name[first.sensor], by_name[second.sensor])
    return mean, cov, second.time_s, plots[later + 1 :]


def rmse_m(times_s: Sequence[float], states: Sequence[FloatArray], truth: Trajectory) -> float:
    """Position RMSE against the truth over the states at their times, m."""
    if not states:
        return math.nan
    since = np.asarray(times_s) - truth.launch_time_s
    err = np.asarray(states)[:, :3] - truth.states_at(since)[:, :3]
    return math.sqrt(float(np.mean(np.sum(err**2, axis=1))))


def reference_plots(
    scenario: Scenario, trajectory: Trajectory, seed: int
) -> tuple[str, list[Sensor], list[RadarMeasurement]] | None:
    """The radar party with the most plots of the flight after burnout: (party, radars, plots)."""
    burnout_s = trajectory.launch_time_s + trajectory.burnout_time_s
    best: tuple[str, list[Sensor], list[RadarMeasurement]] | None = None
    for party in scenario.parties:
        radars = [s for s in scenario.sensors_of(party) if s.kind == "radar"]
        rng = np.random.default_rng(seed)
        plots = sorted(
            (
                m
                for radar in radars
                for m in radar_measurements(trajectory, radar, rng)
                if m.time_s >= burnout_s
            ),
            key=lambda m: (m.time_s, m.sensor),
        )
        if plots and (best is None or len(plots) > len(best[2])):
            best = (party, radars, plots)
    return best


def compare_trackers(scenario: Scenario, trajectory: Trajectory, seed: int) -> dict[str, Any]:
    """warnlink's `track_ballistic` and Stone Soup's UKF on the same plots (see module docstring).

    Returns plain data: the party, plot count and, per filter, updates, seconds, updates per
    second and position RMSE (m); ``stonesoup`` is ``"not installed"`` without Stone Soup.
    """
    chosen = reference_plots(scenario, trajectory, seed)
    if chosen is None:
        return {"party": None, "plots": 0}
    party, radars, plots = chosen
    burnout_s = trajectory.launch_time_s + trajectory.burnout_time_s
    reports, warnlink_s = _timed(
        lambda: track_ballistic(
            plots, sensors=radars, track_number=1, party=party, start_s=burnout_s
        )
    )
    result: dict[str, Any] = {
        "party": party,
        "plots": len(plots),
        "warnlink": _figures(
            [r.time_s for r in reports],
            [np.concatenate([r.pos_ecef_m, r.vel_ecef_mps]) for r in reports],
            warnlink_s,
            trajectory,
        ),
    }
    if stonesoup_version() is None:
        result["stonesoup"] = "not installed"
        return result
    updates, stonesoup_s = _timed(lambda: run_stonesoup(plots, radars))
    result["stonesoup"] = _figures(
        [t for t, _ in updates], [x for _, x in updates], stonesoup_s, trajectory
    )
    return result


def _timed(run: Callable[[], _T]) -> tuple[_T, float]:
    """The result of `run` and its shortest wall time over `TIMING_REPEATS` calls, s."""
    best = math.inf
    for _ in range(TIMING_REPEATS):
        begin = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - begin)
    return result, best


def _figures(
    times_s: Sequence[float], states: Sequence[FloatArray], seconds: float, truth: Trajectory
) -> dict[str, Any]:
    return {
        "updates": len(states),
        "seconds": seconds,
        "updates_per_s": len(states) / seconds if seconds > 0 else None,
        "rmse_m": rmse_m(times_s, states, truth),
    }
