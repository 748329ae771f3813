"""A boost-phase tracker: radar plots and IR lines of sight in, track reports out, thrust modelled.

State (9,): ECEF position, velocity relative to the rotating Earth, and the thrust (all
non-gravitational) acceleration, m, m/s, m/s^2.

Process model: position and velocity follow the project's rotating-frame J2 equations
(`warnlink.physics.dynamics`) plus the thrust acceleration, held constant over a step
(RK4 for the mean, steps of at most `MAX_STEP_S`). The thrust acceleration is a Wiener
process: continuous white jerk of power spectral density q (m^2/s^5) per axis, so the
covariance is carried by the nearly-constant-acceleration transition

    F = [[I, dt I, dt^2/2 I], [0, I, dt I], [0, 0, I]]
    Q = q [[dt^5/20, dt^4/8, dt^3/6], [dt^4/8, dt^3/3, dt^2/2], [dt^3/6, dt^2/2, dt]] (x) I

(Bar-Shalom, Li & Kirubarajan, *Estimation with Applications to Tracking and Navigation*,
2001, §6.2, the Wiener process acceleration model; the gravity gradient and Coriolis terms
are left out of F, a change of under 1e-3 of the covariance over a 10 s step). A rocket's
thrust acceleration grows as its propellant burns and turns with its pitch program: a few
m/s^3 of jerk (`DEFAULT_JERK_PSD`).

Burnout: the thrust stops at an unknown time, a step no Wiener process follows. Two
models run as an interacting multiple model (IMM) filter (Blom & Bar-Shalom, "The
interacting multiple model algorithm for systems with Markovian switching coefficients",
IEEE TAC 33(8), 1988; Bar-Shalom et al. 2001, §11.6): *thrust* (the model above) and
*coast* (no thrust: non-gravitational acceleration ~0, `COAST_SIGMA_MPS2`). Thrust turns
to coast with probability 1 - exp(-dt / `MEAN_BURN_LEFT_S`) per interval, coast to thrust
almost never (`RESTART_PROBABILITY`, staging, which the simulation does not fly). The
coast model's prediction from a thrusting state lets the thrust stop at a time uniform
over the interval (mean: thrust for dt/2; the spread of the stopping time is added to the
covariance), since burnout falls between two measurements. The mixture's mean and
covariance (moment matched) are reported; once the coast model's probability reaches
`BURNOUT_PROBABILITY`, or the estimate descends (no ballistic missile descends under
thrust; a track first seen late in flight), the reports carry the ballistic phase
(midcourse or terminal, `radar_tracker.flight_phase`) instead of boost. The first such
report is the burnout the caller starts the radar tracker's ballistic track from; the
caller stops taking this filter's reports where that track begins (`iter_boost` runs
lazily, or `end_s`), since it has the better model for unpowered flight. Known weakness:
at the first measurement after burnout the mixture still favours thrust, and its
covariance is then too small (NEES ~30 at that one report on the default flight).

Measurements: radar range/azimuth/elevation (`warnlink.sensors.radar`) and IR line-of-sight
angles (`warnlink.sensors.ir`), each by an unscented update (Julier & Uhlmann 2004 sigma
points, `warnlink.estimation.impact.sigma_points`; Wan & van der Merwe 2000), one after
the other when several are taken at the same instant (two IR satellites at one instant are
a stereo fix).

Initiation: a position fix per instant, the weighted least-squares point of everything
measured then (a radar plot: its position and covariance; an IR line of sight: the
distance across the ray, weighted by range times angle sigma; stereo triangulation when two
satellites see the plume). A single IR line of sight fixes no point and is skipped. The
first two fixes at different times give position and a differenced velocity (Bar-Shalom
et al. 2001, §5.5.3), corrected for gravity over the interval; the thrust acceleration
starts at zero with `THRUST_PRIOR_SIGMA_MPS2` per axis, and the differenced velocity
carries its share (a dt / 2) of that uncertainty, correlated with it.

Output: one `TrackEstimate` per measurement instant from the second fix on, with the
position/velocity block of the covariance. Pure functions of arrays.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from warnlink.errors import PhysicsError
from warnlink.estimation.impact import sigma_points
from warnlink.estimation.radar_tracker import flight_phase
from warnlink.geo.wgs84 import FloatArray, ecef_to_lla, enu_rotation
from warnlink.model.payloads import Phase
from warnlink.model.track_estimate import TrackEstimate, quality_from_sigma
from warnlink.physics.dynamics import FULL_MODEL, acceleration
from warnlink.physics.propagate import rk4_step
from warnlink.sensors.ir import LosMeasurement, los_function, los_ray
from warnlink.sensors.radar import (
    RadarMeasurement,
    measurement_function,
    measurement_to_ecef,
    wrap_angle_rad,
)
from warnlink.sensors.sensor import Sensor, measurement_covariance

Measurement = RadarMeasurement | LosMeasurement
"""What the boost tracker takes: a radar plot or an IR line of sight."""

STATE_DIM: Final = 9
MAX_STEP_S: Final = 2.0
"""Largest RK4 step of the mean, s."""
DEFAULT_JERK_PSD: Final = 10.0
"""White jerk PSD per axis, m^2/s^5: over a 4 s revisit the thrust acceleration may change
by sqrt(q dt) ~ 6 m/s^2, over 10 s by 10 m/s^2 (see the NEES test)."""
THRUST_PRIOR_SIGMA_MPS2: Final = 40.0
"""1-sigma per axis of the thrust acceleration before it is measured (the flights simulated
here reach 70-80 m/s^2 at burnout)."""
COAST_SIGMA_MPS2: Final = 0.2
"""1-sigma per axis of the non-gravitational acceleration after burnout (vacuum: none)."""
COAST_JERK_PSD: Final = 0.01
"""White jerk PSD per axis after burnout, m^2/s^5."""
MEAN_BURN_LEFT_S: Final = 60.0
"""Mean time to burnout of the thrust mode: the chance of a cut-off over dt is 1 - exp(-dt/60)."""
RESTART_PROBABILITY: Final = 1e-4
"""Chance per instant that a coasting missile thrusts again (staging; not in the simulation)."""
INITIAL_COAST_PROBABILITY: Final = 0.1
"""Coast-mode probability at initiation (a track may start after burnout)."""
MIN_MODE_PROBABILITY: Final = 1e-6
"""Floor of a mode's probability, so that a mode can always come back."""
BURNOUT_PROBABILITY: Final = 0.99
"""Coast-mode probability from which a report is labelled by its ballistic phase, not boost."""
_AZIMUTH: Final = 1


def _symmetric(cov: FloatArray) -> FloatArray:
    return np.asarray(0.5 * (cov + cov.T))


def transition(dt_s: float) -> FloatArray:
    """(9, 9) nearly-constant-acceleration transition over dt_s."""
    block = np.array([[1.0, dt_s, 0.5 * dt_s**2], [0.0, 1.0, dt_s], [0.0, 0.0, 1.0]])
    return np.asarray(np.kron(block, np.eye(3)))


def jerk_noise(dt_s: float, q: float) -> FloatArray:
    """(9, 9) covariance of continuous white jerk of PSD q per axis over dt_s."""
    t = dt_s
    block = np.array(
        [
            [t**5 / 20.0, t**4 / 8.0, t**3 / 6.0],
            [t**4 / 8.0, t**3 / 3.0, t**2 / 2.0],
            [t**3 / 6.0, t**2 / 2.0, t],
        ]
    )
    return np.asarray(np.kron(q * block, np.eye(3)))


def boost_predict(
    mean: FloatArray, cov: FloatArray, dt_s: float, q: float = DEFAULT_JERK_PSD
) -> tuple[FloatArray, FloatArray]:
    """Predict the state (9,) and covariance (9, 9) dt_s >= 0 seconds ahead.

    Raises:
        PhysicsError: for a negative dt_s or q.
    """
    if dt_s < 0.0 or q < 0.0:
        raise PhysicsError(f"need dt_s >= 0 and q >= 0, got {dt_s}, {q}")
    if dt_s == 0.0:
        return mean.copy(), cov.copy()
    thrust = mean[None, 6:]

    def accel(pos: FloatArray, vel: FloatArray, _t: float | FloatArray) -> FloatArray:
        return acceleration(pos, vel, FULL_MODEL) + thrust

    steps = max(1, math.ceil(dt_s / MAX_STEP_S))
    pos, vel = mean[None, :3], mean[None, 3:6]
    for k in range(steps):
        pos, vel = rk4_step(pos, vel, k * dt_s / steps, dt_s / steps, accel)
    f = transition(dt_s)
    new_mean = np.concatenate([pos[0], vel[0], mean[6:]])
    return new_mean, _symmetric(f @ cov @ f.T + jerk_noise(dt_s, q))


def boost_update(
    mean: FloatArray, cov: FloatArray, measurement: Measurement, sensor: Sensor
) -> tuple[FloatArray, FloatArray, float, float]:
    """Unscented update of the state (9,) and covariance (9, 9) with one measurement.

    Returns:
        The updated state and covariance, the normalised innovation squared and the log
        determinant of the innovation covariance (for the measurement's likelihood).

    Raises:
        PhysicsError: if the measurement is not from `sensor`.
    """
    if measurement.sensor != sensor.name:
        raise PhysicsError(f"measurement of {measurement.sensor} given with sensor {sensor.name}")
    points, weights = sigma_points(mean, cov)
    radar = isinstance(measurement, RadarMeasurement)
    predicted = measurement_function(points, sensor) if radar else los_function(points, sensor)
    z_mean = weights @ predicted
    if radar:  # the azimuth is an angle: circular mean, wrapped differences
        z_mean[_AZIMUTH] = np.arctan2(
            weights @ np.sin(predicted[:, _AZIMUTH]), weights @ np.cos(predicted[:, _AZIMUTH])
        )
    dz = predicted - z_mean
    innovation = measurement.vector - z_mean
    if radar:
        dz[:, _AZIMUTH] = wrap_angle_rad(dz[:, _AZIMUTH])
        innovation[_AZIMUTH] = wrap_angle_rad(innovation[_AZIMUTH])
    s = (dz.T * weights) @ dz + measurement.noise_covariance
    cross = ((points - mean).T * weights) @ dz
    gain = np.linalg.solve(s, cross.T).T
    nis = float(innovation @ np.linalg.solve(s, innovation))
    log_det = float(np.linalg.slogdet(s)[1])
    return mean + gain @ innovation, _symmetric(cov - gain @ s @ gain.T), nis, log_det


def position_fix(
    measurements: Sequence[Measurement], by_name: dict[str, Sensor]
) -> tuple[FloatArray, FloatArray] | None:
    """Weighted least-squares ECEF point (3,) and covariance (3, 3) of one instant's measurements.

    None when they do not fix a point (a single IR line of sight).
    """
    radar_points: list[tuple[FloatArray, FloatArray]] = []
    rays: list[tuple[FloatArray, FloatArray, float]] = []
    for m in measurements:
        sensor = by_name[m.sensor]
        if isinstance(m, RadarMeasurement):
            point = measurement_to_ecef(m, sensor)
            radar_points.append(
                (
                    point,
                    np.asarray(np.linalg.inv(measurement_covariance(sensor, point)), np.float64),
                )
            )
        else:
            origin, direction = los_ray(m, sensor)
            rays.append((origin, direction, m.angle_sigma_rad))
    guess = radar_points[0][0] if radar_points else None
    for _ in range(2):  # the rays' weights need the range: once from a first point, once more
        info = np.zeros((3, 3))
        moment = np.zeros(3)
        for point, weight in radar_points:
            info += weight
            moment += weight @ point
        for origin, direction, sigma in rays:
            rng = 1.0 if guess is None else float(np.linalg.norm(guess - origin))
            weight = (np.eye(3) - np.outer(direction, direction)) / (rng * sigma) ** 2
            info += weight
            moment += weight @ origin
        if np.linalg.cond(info) > 1e12:
            return None
        cov = np.asarray(np.linalg.inv(info), np.float64)
        guess = cov @ moment
    assert guess is not None
    return guess, _symmetric(cov)


def _initial_state(
    first: tuple[float, FloatArray, FloatArray], second: tuple[float, FloatArray, FloatArray]
) -> tuple[FloatArray, FloatArray]:
    (t1, p1, r1), (t2, p2, r2) = first, second
    dt = t2 - t1
    gravity = acceleration(p2[None, :], ((p2 - p1) / dt)[None, :], FULL_MODEL)[0]
    thrust_var = THRUST_PRIOR_SIGMA_MPS2**2 * np.eye(3)
    cov = np.zeros((STATE_DIM, STATE_DIM))
    cov[:3, :3] = r2
    cov[:3, 3:6] = cov[3:6, :3] = r2 / dt
    cov[3:6, 3:6] = (r1 + r2) / dt**2 + (0.5 * dt) ** 2 * thrust_var
    cov[3:6, 6:] = cov[6:, 3:6] = 0.5 * dt * thrust_var
    cov[6:, 6:] = thrust_var
    mean = np.concatenate([p2, (p2 - p1) / dt + 0.5 * dt * gravity, np.zeros(3)])
    return mean, cov


def _instants(measurements: Sequence[Measurement]) -> list[list[Measurement]]:
    return [list(g) for _, g in itertools.groupby(measurements, key=lambda m: m.time_s)]


def iter_boost(
    measurements: Sequence[Measurement],
    *,
    sensors: Sequence[Sensor],
    track_number: int,
    party: str,
    end_s: float = math.inf,
    q: float = DEFAULT_JERK_PSD,
) -> Iterator[TrackEstimate]:
    """Track one missile under thrust from time-ordered radar plots and IR lines of sight.

    The filter runs as the reports are taken, so a caller that stops taking them (where
    the ballistic track takes over) does no more work.

    Args:
        measurements: of one missile, in time order, from any of the party's sensors.
        sensors: the sensors that made them (looked up by name).
        track_number, party: stamped on every report.
        end_s: measurements at or after this time are left out (where the ballistic
            track takes over).
        q: white jerk PSD per axis, m^2/s^5.

    Returns:
        One report per measurement instant from the second position fix on, in time order;
        none if fewer than two instants fix a position.

    Raises:
        PhysicsError: if the measurements are out of time order, name an unknown sensor, or
            a sensor is not the given party's.
    """
    by_name = {s.name: s for s in sensors}
    foreign = [s.name for s in sensors if s.party != party]
    if foreign:
        raise PhysicsError(f"sensors {foreign} do not belong to {party}")
    if any(b.time_s < a.time_s for a, b in itertools.pairwise(measurements)):
        raise PhysicsError("measurements are not in time order")
    usable = [m for m in measurements if m.time_s < end_s]
    unknown = {m.sensor for m in usable} - by_name.keys()
    if unknown:
        raise PhysicsError(f"measurements from unknown sensors {sorted(unknown)}")
    return _run(_instants(usable), by_name, track_number, party, q)


def _run(
    instants: list[list[Measurement]],
    by_name: dict[str, Sensor],
    track_number: int,
    party: str,
    q: float,
) -> Iterator[TrackEstimate]:
    fixes: list[tuple[int, tuple[float, FloatArray, FloatArray]]] = []
    for index, group in enumerate(instants):
        fix = position_fix(group, by_name)
        if fix is not None:
            fixes.append((index, (group[0].time_s, *fix)))
            if len(fixes) == 2:
                break
    if len(fixes) < 2:
        return
    start = fixes[1][0]
    mean, cov = _initial_state(fixes[0][1], fixes[1][1])
    imm = _Imm(
        [mean, mean],
        [cov, cov],
        np.array([1.0 - INITIAL_COAST_PROBABILITY, INITIAL_COAST_PROBABILITY]),
    )
    yield _report(imm, instants[start], by_name, track_number, party)
    t = instants[start][0].time_s
    for group in instants[start + 1 :]:
        imm = _filter_instant(imm, group[0].time_s - t, group, by_name, q)
        t = group[0].time_s
        yield _report(imm, group, by_name, track_number, party)


@dataclass
class _Imm:
    """The two mode-conditioned estimates (thrust, coast) and their probabilities."""

    means: list[FloatArray]
    covs: list[FloatArray]
    probs: FloatArray

    def combined(self) -> tuple[FloatArray, FloatArray]:
        """Moment-matched mean (9,) and covariance (9, 9) of the mixture."""
        mean = np.asarray(self.probs @ np.stack(self.means), dtype=np.float64)
        cov = np.zeros((STATE_DIM, STATE_DIM))
        for p, m, c in zip(self.probs, self.means, self.covs, strict=True):
            d = m - mean
            cov += p * (c + np.outer(d, d))
        return mean, _symmetric(cov)


def _coast(mean: FloatArray, cov: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The state with the thrust acceleration set to zero (uncorrelated, `COAST_SIGMA_MPS2`)."""
    x = mean.copy()
    x[6:] = 0.0
    p = cov.copy()
    p[6:, :] = 0.0
    p[:, 6:] = 0.0
    p[6:, 6:] = COAST_SIGMA_MPS2**2 * np.eye(3)
    return x, p


def _predict_cut_off(
    mean: FloatArray, cov: FloatArray, dt_s: float
) -> tuple[FloatArray, FloatArray]:
    """Coast-mode prediction: any thrust left stops at a time s uniform over the interval.

    The mean burns for dt/2 then coasts for dt/2; the spread of s (variance dt^2/12) adds
    g g^T dt^2/12 with g = d(position, velocity)/ds = (a dt/2, a) at s = dt/2. A state that
    already coasts (a ~ 0) is hardly changed by this, and gets no thrust jerk noise.
    """
    x, p = boost_predict(mean, cov, 0.5 * dt_s, COAST_JERK_PSD)
    thrust = x[6:].copy()
    x, p = boost_predict(*_coast(x, p), 0.5 * dt_s, COAST_JERK_PSD)
    g = np.concatenate([0.5 * dt_s * thrust, thrust, np.zeros(3)])
    return x, _symmetric(p + np.outer(g, g) * dt_s**2 / 12.0)


def _filter_instant(
    imm: _Imm,
    dt_s: float,
    group: Sequence[Measurement],
    by_name: dict[str, Sensor],
    q: float,
) -> _Imm:
    """One IMM cycle: mix, predict each mode over dt_s, update with the instant's measurements."""
    cut = 1.0 - math.exp(-dt_s / MEAN_BURN_LEFT_S)
    switch = np.array([[1.0 - cut, cut], [RESTART_PROBABILITY, 1.0 - RESTART_PROBABILITY]])
    predicted_probs = switch.T @ imm.probs
    means: list[FloatArray] = []
    covs: list[FloatArray] = []
    log_likelihoods = np.zeros(2)
    for j in range(2):
        weights = switch[:, j] * imm.probs / max(predicted_probs[j], 1e-300)
        mixed = _Imm(imm.means, imm.covs, weights).combined()
        if j == 1:
            x, p = _predict_cut_off(*mixed, dt_s)
        else:
            x, p = boost_predict(*mixed, dt_s, q)
        for m in group:
            x, p, nis, log_det = boost_update(x, p, m, by_name[m.sensor])
            log_likelihoods[j] += -0.5 * (nis + log_det + m.vector.size * math.log(2.0 * math.pi))
        means.append(x)
        covs.append(p)
    log_post = log_likelihoods + np.log(np.maximum(predicted_probs, 1e-300))
    probs = np.exp(log_post - np.max(log_post))
    probs = np.maximum(probs / probs.sum(), MIN_MODE_PROBABILITY)
    return _Imm(means, covs, probs / probs.sum())


def _report(
    imm: _Imm,
    group: Sequence[Measurement],
    by_name: dict[str, Sensor],
    track_number: int,
    party: str,
) -> TrackEstimate:
    mean, cov = imm.combined()
    lat, lon, _ = ecef_to_lla(mean[:3])
    climbing = float(enu_rotation(float(lat), float(lon))[2] @ mean[3:6]) > 0.0
    coasting = imm.probs[1] >= BURNOUT_PROBABILITY or not climbing
    sigma = math.sqrt(max(float(np.max(np.linalg.eigvalsh(cov[:3, :3]))), 0.0))
    time_s = group[0].time_s
    return TrackEstimate(
        time_s=time_s,
        pos_ecef_m=mean[:3].copy(),
        vel_ecef_mps=mean[3:6].copy(),
        cov=cov[:6, :6].copy(),
        phase=flight_phase(mean[:6]) if coasting else Phase.BOOST.value,
        quality=quality_from_sigma(sigma),
        sensor=group[0].sensor,
        track_number=track_number,
        party=party,
        available_s=time_s + max(by_name[m.sensor].latency_s for m in group),
    )
