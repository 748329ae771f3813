"""A national tracker, simulated: what one party reports about one flight, with honest covariances.

Schedule: each sensor measures on multiples of its `update_s` after the epoch; at every such
instant when at least one of the party's sensors sees the missile, the tracker reports once,
using the sensor with the smallest position covariance (trace). A track is reported from its
second update on (two plots initiate a track).

Covariance: the tracker is modelled as a least-squares straight-line fit (position and
velocity at the latest time) over its last k <= 8 updates, each with the current sensor's
measurement covariance R (`sensors.measurement_covariance`). With H the k x 2 matrix of rows
(1, t_i - t_now), the (position, velocity) covariance is kron((H^T H)^-1, R) (Bar-Shalom, Li &
Kirubarajan, *Estimation with Applications to Tracking and Navigation*, 2001, §3.4): the
position variance shrinks as 2(2k-1) / (k(k+1)) of a single plot's, the velocity variance as
12 / (T^2 k (k^2 - 1)) for revisit T. The memory of 8 updates stands for the fading memory a
real filter keeps against unmodelled acceleration.

Reported state = truth + one draw from exactly that covariance, so the normalised estimation
error squared (NEES) follows chi-square with 6 degrees of freedom: the covariance is honest by
construction, not a tuned filter's claim.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from warnlink.errors import ConfigError
from warnlink.geo.wgs84 import FloatArray
from warnlink.model.track_estimate import TrackEstimate, quality_from_sigma
from warnlink.sensors.sensor import Sensor, measurement_covariance, visible
from warnlink.sim.trajectory import Phase, Trajectory

TRACK_MEMORY = 8
"""Number of most recent updates the modelled least-squares fit uses."""


def fit_covariance(update_times_s: FloatArray, measurement_cov: FloatArray) -> FloatArray:
    """(6, 6) covariance of a straight-line least-squares fit at the last of >= 2 update times."""
    h = np.stack([np.ones_like(update_times_s), update_times_s - update_times_s[-1]], axis=1)
    return np.asarray(np.kron(np.linalg.inv(h.T @ h), measurement_cov))


def _candidate_times(trajectory: Trajectory, sensors: Sequence[Sensor]) -> FloatArray:
    start = trajectory.launch_time_s
    end = start + trajectory.impact_time_s
    times = [
        np.arange(math.ceil(start / s.update_s), math.floor(end / s.update_s) + 1) * s.update_s
        for s in sensors
    ]
    return np.unique(np.round(np.concatenate(times), 6))


def simulate_tracks(
    trajectory: Trajectory,
    sensors: Sequence[Sensor],
    rng: np.random.Generator,
    *,
    track_number: int,
) -> list[TrackEstimate]:
    """What one party's national tracker reports about one flight, in event-time order.

    All sensors must belong to the same party. Times are seconds after the scenario epoch;
    `available_s` adds the measuring sensor's latency.

    Raises:
        ConfigError: if no sensors are given or they belong to several parties.
    """
    parties = {s.party for s in sensors}
    if len(parties) != 1:
        raise ConfigError(f"simulate_tracks needs the sensors of exactly one party, got {parties}")
    party = parties.pop()
    times = _candidate_times(trajectory, sensors)
    if times.size == 0:
        return []
    since_launch = np.clip(times - trajectory.launch_time_s, 0.0, trajectory.impact_time_s)
    truth = trajectory.states_at(since_launch)
    phase = trajectory.phases_at(since_launch)
    boosting = phase == Phase.BOOST
    seen = np.stack(
        [
            visible(s, truth[:, :3], boosting)
            & (np.abs(np.round(times / s.update_s) * s.update_s - times) < 1e-6)
            for s in sensors
        ]
    )
    reports: list[TrackEstimate] = []
    history: list[float] = []
    for j in np.flatnonzero(seen.any(axis=0)):
        candidates = [sensors[int(i)] for i in np.flatnonzero(seen[:, j])]
        covs = [measurement_covariance(s, truth[j, :3]) for s in candidates]
        best = int(np.argmin([np.trace(c) for c in covs]))
        history = [*history[-(TRACK_MEMORY - 1) :], float(times[j])]
        if len(history) < 2:
            continue
        cov = fit_covariance(np.array(history), covs[best])
        state = truth[j] + np.linalg.cholesky(cov) @ rng.standard_normal(6)
        sensor = candidates[best]
        sigma = math.sqrt(float(np.max(np.linalg.eigvalsh(cov[:3, :3]))))
        reports.append(
            TrackEstimate(
                time_s=float(times[j]),
                pos_ecef_m=state[:3],
                vel_ecef_mps=state[3:],
                cov=cov,
                phase=Phase(int(phase[j])).label,
                quality=quality_from_sigma(sigma),
                sensor=sensor.name,
                track_number=track_number,
                party=party,
                available_s=float(times[j]) + sensor.latency_s,
            )
        )
    return reports
