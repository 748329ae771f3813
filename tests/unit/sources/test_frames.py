"""J2000 to ECEF and UVW axes, against an independent reference and by their own algebra.

The reference is astropy (its own chain of frames, ``PrecessedGeocentric`` at the J2000
equinox to ``ITRS``, velocities by finite differences), with its Earth orientation
table's polar motion and UT1-UTC set to zero, so both sides make the same stated
approximations. Tolerances: 1 cm in position and 1 mm/s in velocity (the two agree to
about a millimetre and 0.02 mm/s).
"""

from __future__ import annotations

from collections.abc import Iterator

import astropy.units as u
import erfa
import numpy as np
import pytest
from astropy.coordinates import (
    ITRS,
    CartesianDifferential,
    CartesianRepresentation,
    PrecessedGeocentric,
)
from astropy.time import Time
from astropy.utils import iers

from warnlink.model.time import NS_PER_S, iso_to_utc_ns
from warnlink.sources import frames

#: J2000 states (m, m/s): Vallado's example 3-15 satellite, a missile over the Sea of
#: Japan near apogee, and a point near geostationary height.
STATES = [
    np.array([5102.5096, 6123.01152, 6378.1363, -4.7432196, 0.7905366, 5.5337561]) * 1e3,
    np.array([-3400.0, 3300.0, 4300.0, 2.2, 1.1, -0.4]) * 1e3,
    np.array([30_000.0, -28_000.0, 1_000.0, 2.0, 2.1, 0.05]) * 1e3,
]
#: Instants inside the Earth orientation table astropy ships (no extrapolation).
INSTANTS = ["2001-07-01T23:59:30Z", "2016-12-31T23:59:59.5Z", "2024-03-01T12:34:56.789Z"]


@pytest.fixture(scope="module")
def no_polar_motion_nor_ut1() -> Iterator[None]:
    table = iers.IERS_B.open()
    for column in ("PM_x", "PM_y", "UT1_UTC"):
        table[column] = 0 * table[column]
    with iers.conf.set_temp("auto_download", False), iers.earth_orientation_table.set(table):
        yield


def _astropy_itrs(state: np.ndarray, iso: str) -> np.ndarray:
    t = Time(iso.removesuffix("Z"), scale="utc")
    rep = CartesianRepresentation(
        state[:3] * u.m, differentials=CartesianDifferential(state[3:] * u.m / u.s)
    )
    itrs = PrecessedGeocentric(rep, equinox=Time("J2000"), obstime=t).transform_to(ITRS(obstime=t))
    vel = itrs.cartesian.differentials["s"].d_xyz.to(u.m / u.s).value
    return np.concatenate([itrs.cartesian.xyz.to(u.m).value, vel])


@pytest.mark.usefixtures("no_polar_motion_nor_ut1")
@pytest.mark.parametrize("iso", INSTANTS)
@pytest.mark.parametrize("state", STATES, ids=["leo", "missile", "high"])
def test_j2000_to_ecef_agrees_with_astropy(state: np.ndarray, iso: str) -> None:
    mine = frames.j2000_to_ecef_jacobian(iso_to_utc_ns(iso)) @ state
    reference = _astropy_itrs(state, iso)
    assert np.abs(mine[:3] - reference[:3]).max() < 0.01
    assert np.abs(mine[3:] - reference[3:]).max() < 0.001


@pytest.mark.parametrize("state", STATES, ids=["leo", "missile", "high"])
def test_the_velocity_term_is_the_time_derivative_of_the_rotation(state: np.ndarray) -> None:
    """v_ecef = d/dt (M(t) r(t)) by central differences along the inertial motion."""
    t_ns, h_s = iso_to_utc_ns("2026-11-24T00:10:05Z"), 0.5
    r, v = state[:3], state[3:]

    def ecef(dt_s: float) -> np.ndarray:
        m = frames.j2000_to_ecef_matrix(t_ns + round(dt_s * NS_PER_S))
        return m @ (r + v * dt_s)

    derivative = (ecef(h_s) - ecef(-h_s)) / (2 * h_s)
    jac_velocity = (frames.j2000_to_ecef_jacobian(t_ns) @ state)[3:]
    assert np.abs(derivative - jac_velocity).max() < 1e-3


def test_the_cached_precession_nutation_agrees_with_erfas_full_chain() -> None:
    """ERFA's own c2t06a (polar motion zero), at the instant rather than the minute's middle."""
    for iso in ("2026-11-24T00:10:00.001Z", "2026-11-24T00:10:59.999Z", "2031-05-05T05:05:05Z"):
        t_ns = iso_to_utc_ns(iso)
        days, rest_ns = divmod(t_ns, 86400 * NS_PER_S)
        utc = (2440587.5 + days, rest_ns / (86400 * NS_PER_S))
        tt = (utc[0], utc[1] + (frames.tai_minus_utc_s(t_ns) + frames.TT_MINUS_TAI_S) / 86400.0)
        bias = erfa.bp06(2451545.0, 0.0)[0]
        full = erfa.c2t06a(*tt, *utc, 0.0, 0.0) @ bias.T
        assert np.abs(frames.j2000_to_ecef_matrix(t_ns) - full).max() < 2e-10  # < 1 cm at 50,000 km


def test_the_inverse_jacobian_round_trips() -> None:
    t_ns = iso_to_utc_ns("2026-11-24T00:10:05Z")
    there = frames.j2000_to_ecef_jacobian(t_ns)
    back = frames.ecef_to_j2000_jacobian(t_ns)
    assert back @ there == pytest.approx(np.eye(6), abs=1e-12)
    for state in STATES:
        assert back @ (there @ state) == pytest.approx(state, rel=1e-12, abs=1e-6)


def test_ut1_minus_utc_turns_the_earth_by_its_rate() -> None:
    t_ns = iso_to_utc_ns("2026-11-24T00:10:05Z")
    a = frames.j2000_to_ecef_matrix(t_ns)
    b = frames.j2000_to_ecef_matrix(t_ns, ut1_minus_utc_s=0.9)
    turn = b @ a.T  # R3 of the extra angle
    assert np.arctan2(turn[0, 1], turn[0, 0]) == pytest.approx(
        0.9 * frames.EARTH_ROTATION_RAD_S, rel=1e-9
    )


def test_leap_seconds_come_from_erfas_table() -> None:
    new_year_2017 = iso_to_utc_ns("2017-01-01T00:00:00Z")
    assert frames.tai_minus_utc_s(new_year_2017 - 1) == 36.0
    assert frames.tai_minus_utc_s(new_year_2017) == 37.0


def test_uvw_axes_are_radial_in_track_cross_track() -> None:
    pos, vel = STATES[1][:3], STATES[1][3:]
    axes, defined = frames.uvw_axes(pos, vel)
    assert bool(defined)
    u, v, w = axes
    assert axes @ axes.T == pytest.approx(np.eye(3), abs=1e-12)
    assert np.linalg.det(axes) == pytest.approx(1.0)
    assert u == pytest.approx(pos / np.linalg.norm(pos))
    assert w @ pos == pytest.approx(0.0, abs=1e-6)
    assert w @ vel == pytest.approx(0.0, abs=1e-9)
    assert v @ vel > 0.0


def test_uvw_axes_are_undefined_for_motion_along_the_position() -> None:
    pos = STATES[1][:3]
    axes, defined = frames.uvw_axes(np.stack([pos, pos]), np.stack([pos * 1e-3, pos * 0.0]))
    assert not defined.any()
    assert np.isnan(axes).all()


def test_a_covariance_round_trips_through_ecef() -> None:
    t_ns = iso_to_utc_ns("2026-11-24T00:10:05Z")
    a = np.random.default_rng(7).normal(size=(6, 6))
    cov = a @ a.T
    there = frames.transform_covariance(cov, frames.j2000_to_ecef_jacobian(t_ns))
    back = frames.transform_covariance(there, frames.ecef_to_j2000_jacobian(t_ns))
    assert back == pytest.approx(cov, rel=1e-9, abs=1e-12)
    assert there == pytest.approx(there.T, abs=0.0)
