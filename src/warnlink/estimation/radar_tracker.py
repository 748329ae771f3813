"""A national radar tracker for the ballistic (post-boost) phase: plots in, track reports out.

Initiation: two-point differencing (Bar-Shalom, Li & Kirubarajan, *Estimation with
Applications to Tracking and Navigation*, 2001, §5.5.3). The first two plots at or after
`start_s` are converted to ECEF positions; the state at the second plot is its position
and the finite-difference velocity between them. The initial covariance is generous: the
second plot's position covariance (`warnlink.sensors.sensor.measurement_covariance`), and for
the velocity the differenced position covariances over dt^2 plus the bias of differencing
under gravity (g dt / 2 per axis, g = 9.81 m/s^2), all doubled. The state is augmented
with kappa = 1 / beta (m^2/kg) at its prior (`DEFAULT_KAPPA_PRIOR`, 1-sigma
`DEFAULT_KAPPA_PRIOR_SIGMA`), uncorrelated with the kinematics.

Filtering: every later plot is predicted to and updated by the 7-state unscented Kalman
filter of `warnlink.estimation.ukf` (J2 rotating-frame dynamics with drag of the estimated
kappa, plus white acceleration noise; range/azimuth/elevation from the plot's radar). One
`TrackEstimate` per filter update, carrying the (position, velocity) marginal covariance
and the ballistic coefficient beta = 1 / kappa with its 1-sigma (first order:
sigma_beta = sigma_kappa / kappa^2; none while kappa's estimate is not positive).

Boost: the filter's dynamics are unpowered, so plots taken while the missile still thrusts
must not steer it. A caller that knows the burnout time passes `start_s`; plots before it
are ignored. Without it, burnout is detected from the innovations: the filter starts on
the first plots and, until it is confirmed, any update whose normalised innovation squared
exceeds the chi-square 99.9% point for 3 degrees of freedom (`NIS_THRUST`) is taken as
unmodelled thrust and the track is started again from the latest two plots; the track is
confirmed ballistic after `CONFIRM_UPDATES` consecutive consistent updates, and reports
begin then. Thrust that hides in a distant radar's noise can pass that test; a confirmed
track whose updates then fail it `RESTART_STRIKES` times in a row is started again.
The reports issued before such a restart were biased, and their covariance said less
than it should: the price of reporting early. A boost-phase filter is left to a later step.
No gating, no data association: all plots are assumed to be of the one missile.

Deletion: a track that no plot has updated for `MAX_COAST_S` is deleted (a coast-time rule,
Blackman & Popoli, *Design and Analysis of Modern Tracking Systems*, 1999, §7.4); plots that
come later start a new track with a new number (`split_at_coasts` cuts the plot sequence there).
The coast time matches the reporter's `lost_after_s`, so a deleted track is reported lost.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Final

import numpy as np

from warnlink.errors import PhysicsError
from warnlink.estimation.ukf import (
    DEFAULT_KAPPA_PRIOR,
    DEFAULT_KAPPA_PRIOR_SIGMA,
    DEFAULT_Q_M2_S3,
    KAPPA_INDEX,
    STATE_DIM,
    ukf_predict,
    ukf_update,
)
from warnlink.geo.wgs84 import FloatArray, ecef_to_lla, enu_rotation
from warnlink.model.payloads import TERMINAL_ALTITUDE_M, Phase
from warnlink.model.track_estimate import TrackEstimate, quality_from_sigma
from warnlink.sensors.radar import RadarMeasurement, measurement_to_ecef
from warnlink.sensors.sensor import Sensor, measurement_covariance

GRAVITY_M_S2: Final = 9.81
"""Standard gravity, used only to size the initial velocity uncertainty."""
NIS_THRUST: Final = 16.27
"""Chi-square 99.9% point, 3 degrees of freedom: beyond it, an update is taken as thrust."""
CONFIRM_UPDATES: Final = 6
"""Consecutive consistent updates before a track is confirmed ballistic and reported."""
RESTART_STRIKES: Final = 2
"""Consecutive inconsistent updates after which a confirmed track is started again."""
MAX_COAST_S: Final = 60.0
"""A track with no plot for this long is deleted; later plots start a new track."""
INITIAL_INFLATION: Final = 2.0
"""Factor on the initial covariance: a generous start the first updates quickly correct."""


def initial_state(
    first: RadarMeasurement, second: RadarMeasurement, first_site: Sensor, second_site: Sensor
) -> tuple[FloatArray, FloatArray]:
    """The 7-state (position, velocity, kappa) and covariance from two plots (module docstring).

    Raises:
        PhysicsError: if the second plot is not later than the first.
    """
    dt = second.time_s - first.time_s
    if dt <= 0.0:
        raise PhysicsError(f"cannot initiate from plots {dt} s apart (need > 0)")
    p1 = measurement_to_ecef(first, first_site)
    p2 = measurement_to_ecef(second, second_site)
    r1 = measurement_covariance(first_site, p1)
    r2 = measurement_covariance(second_site, p2)
    bias = (GRAVITY_M_S2 * dt / 2.0) ** 2 * np.eye(3)
    cov = np.zeros((6, 6))
    cov[:3, :3] = r2
    cov[:3, 3:] = r2 / dt
    cov[3:, :3] = r2 / dt
    cov[3:, 3:] = (r1 + r2) / dt**2 + bias
    full = np.zeros((STATE_DIM + 1, STATE_DIM + 1))
    full[:STATE_DIM, :STATE_DIM] = INITIAL_INFLATION * cov
    full[KAPPA_INDEX, KAPPA_INDEX] = DEFAULT_KAPPA_PRIOR_SIGMA**2
    return np.concatenate([p2, (p2 - p1) / dt, [DEFAULT_KAPPA_PRIOR]]), full


def ballistic_coefficient(mean: FloatArray, cov: FloatArray) -> tuple[float | None, float | None]:
    """beta (kg/m^2) and its first-order 1-sigma from a 7-state; (None, None) if kappa <= 0."""
    kappa = float(mean[KAPPA_INDEX])
    if kappa <= 0.0:
        return None, None
    sigma = math.sqrt(max(float(cov[KAPPA_INDEX, KAPPA_INDEX]), 0.0))
    return 1.0 / kappa, sigma / kappa**2


def flight_phase(state: FloatArray) -> str:
    """``"terminal"`` if descending below `TERMINAL_ALTITUDE_M` (geodetic), else ``"midcourse"``."""
    lat, lon, alt = ecef_to_lla(state[:3])
    up = enu_rotation(float(lat), float(lon))[2]
    descending = float(up @ state[3:6]) < 0.0
    terminal = descending and float(alt) < TERMINAL_ALTITUDE_M
    return (Phase.TERMINAL if terminal else Phase.MIDCOURSE).value


def track_quality(cov: FloatArray, n_updates: int) -> int:
    """0-15: the update count or `quality_from_sigma` of the largest position sigma, if lower."""
    sigma = math.sqrt(max(float(np.max(np.linalg.eigvalsh(cov[:3, :3]))), 0.0))
    return min(n_updates, quality_from_sigma(sigma))


def track_ballistic(
    measurements: Sequence[RadarMeasurement],
    *,
    sensors: Sequence[Sensor],
    track_number: int,
    party: str,
    start_s: float | None = None,
    q: float = DEFAULT_Q_M2_S3,
) -> list[TrackEstimate]:
    """Track one missile in unpowered flight from time-ordered plots of one party's radars.

    Args:
        measurements: plots of one missile in time order, possibly from several radars.
        sensors: the radars that made them (looked up by name).
        track_number, party: stamped on every report.
        start_s: first time after burnout, s after the epoch; earlier plots are ignored.
            None: detect burnout from the filter's innovations (see the module docstring).
        q: white acceleration noise PSD per axis, m^2/s^3 (`warnlink.estimation.ukf`).

    Returns:
        One report per filter update (from the third usable plot on), in time order;
        empty if fewer than three plots follow `start_s`.

    Raises:
        PhysicsError: if the plots are out of time order, name an unknown radar, or a radar
            is not the given party's.
    """
    by_name = {s.name: s for s in sensors}
    foreign = [s.name for s in sensors if s.party != party]
    if foreign:
        raise PhysicsError(f"radars {foreign} do not belong to {party}")
    times = [m.time_s for m in measurements]
    if any(b < a for a, b in itertools.pairwise(times)):
        raise PhysicsError("plots are not in time order")
    usable = [m for m in measurements if start_s is None or m.time_s >= start_s]
    unknown = {m.sensor for m in usable} - by_name.keys()
    if unknown:
        raise PhysicsError(f"plots from unknown radars {sorted(unknown)}")
    if len(usable) < 3:
        return []
    detect = start_s is None
    start = 0
    reports: list[TrackEstimate] = []
    while start + 2 < len(usable):
        more, restart = _run(
            usable[start:], by_name, track_number=track_number, party=party, q=q, detect=detect
        )
        reports += more
        if restart is None:
            break
        start += restart
    return reports


def _run(
    plots: Sequence[RadarMeasurement],
    by_name: dict[str, Sensor],
    *,
    track_number: int,
    party: str,
    q: float,
    detect: bool,
) -> tuple[list[TrackEstimate], int | None]:
    """Filter from the first two plots on: (reports, None), or (reports, where to restart)."""
    first = plots[0]
    later = next((j for j, p in enumerate(plots) if p.time_s > first.time_s), None)
    if later is None:
        return [], None
    second = plots[later]
    mean, cov = initial_state(first, second, by_name[first.sensor], by_name[second.sensor])
    t = second.time_s
    consistent = 0 if detect else CONFIRM_UPDATES
    strikes = 0
    reports: list[TrackEstimate] = []
    for index, plot in enumerate(plots[later + 1 :], start=later + 1):
        sensor = by_name[plot.sensor]
        mean, cov = ukf_predict(mean, cov, plot.time_s - t, q)
        mean, cov, nis = ukf_update(mean, cov, plot, sensor)
        t = plot.time_s
        if consistent < CONFIRM_UPDATES:
            if nis > NIS_THRUST:
                return [], index - 1
            consistent += 1
            if consistent < CONFIRM_UPDATES:
                continue
        elif detect:
            strikes = strikes + 1 if nis > NIS_THRUST else 0
            if strikes >= RESTART_STRIKES:
                return reports, index - 1
        beta, beta_sigma = ballistic_coefficient(mean, cov)
        reports.append(
            TrackEstimate(
                time_s=t,
                pos_ecef_m=mean[:3].copy(),
                vel_ecef_mps=mean[3:STATE_DIM].copy(),
                cov=cov[:STATE_DIM, :STATE_DIM].copy(),
                phase=flight_phase(mean),
                quality=track_quality(cov, len(reports) + 1),
                sensor=sensor.name,
                track_number=track_number,
                party=party,
                available_s=t + sensor.latency_s,
                ballistic_coefficient_kg_m2=beta,
                ballistic_coefficient_sigma_kg_m2=beta_sigma,
            )
        )
    return reports, None


def split_at_coasts(
    measurements: Sequence[RadarMeasurement], max_coast_s: float = MAX_COAST_S
) -> list[list[RadarMeasurement]]:
    """Time-ordered plots cut where no plot came for more than `max_coast_s`: one run per track.

    The first run is the first track; each later run is a track initiated after the one
    before it was deleted for coasting too long.
    """
    runs: list[list[RadarMeasurement]] = []
    last: float | None = None
    for plot in measurements:
        if last is None or plot.time_s - last > max_coast_s:
            runs.append([])
        runs[-1].append(plot)
        last = plot.time_s
    return runs
