"""Gravity, equations of motion and the RK4 propagator against invariants and Kepler."""

from __future__ import annotations

import numpy as np
import pytest

from warnlink.errors import PhysicsError
from warnlink.geo.wgs84 import GM_M3_S2, enu_rotation, lla_to_ecef
from warnlink.physics import propagate as propagate_module
from warnlink.physics.dynamics import FULL_MODEL, KEPLER_MODEL, jacobi_integral
from warnlink.physics.gravity import gravity_j2, potential_j2
from warnlink.physics.propagate import propagate, propagate_path, propagate_to_impact


def launch_state(lat: float, lon: float, az_deg: float, gamma_deg: float, speed: float):
    """ECEF state on the ground with the given azimuth, flight-path angle and speed."""
    rot = enu_rotation(lat, lon)
    az, gam = np.radians(az_deg), np.radians(gamma_deg)
    direction = np.cos(gam) * (np.sin(az) * rot[0] + np.cos(az) * rot[1]) + np.sin(gam) * rot[2]
    return np.concatenate([lla_to_ecef(lat, lon, 0.0), speed * direction])


def test_gravity_is_minus_gradient_of_potential() -> None:
    r = lla_to_ecef([10.0, 45.0, -60.0], [20.0, 130.0, -70.0], [0.0, 3e5, 1e6])
    eps = 1.0
    grad = np.empty_like(r)
    for k in range(3):
        d = np.zeros(3)
        d[k] = eps
        grad[:, k] = (potential_j2(r + d) - potential_j2(r - d)) / (2 * eps)
    np.testing.assert_allclose(gravity_j2(r), -grad, rtol=1e-7)


def test_kepler_energy_and_angular_momentum_conserved_over_30_min() -> None:
    states = np.stack(
        [launch_state(39.2, 125.67, 90.0, 40.0, 6500.0), launch_state(0.0, 0.0, 10.0, 5.0, 7800.0)]
    )
    out = propagate(states, 2.0, 1800.0, model=KEPLER_MODEL)
    e0, e1 = jacobi_integral(states, KEPLER_MODEL), jacobi_integral(out, KEPLER_MODEL)
    np.testing.assert_allclose(e1, e0, rtol=1e-8)
    h0 = np.cross(states[:, :3], states[:, 3:])
    h1 = np.cross(out[:, :3], out[:, 3:])
    rel = np.linalg.norm(h1 - h0, axis=1) / np.linalg.norm(h0, axis=1)
    assert np.all(rel < 1e-8)


def test_jacobi_integral_conserved_with_j2_and_rotation() -> None:
    # High arcs that stay above the ground for the whole 30 minutes.
    states = np.stack(
        [
            launch_state(39.2, 125.67, 90.0, 80.0, 6000.0),
            launch_state(60.0, -10.0, 200.0, 60.0, 6800.0),
        ]
    )
    out = propagate(states, 2.0, 1800.0, model=FULL_MODEL)
    np.testing.assert_allclose(
        jacobi_integral(out, FULL_MODEL), jacobi_integral(states, FULL_MODEL), rtol=1e-8
    )


def kepler_time_of_flight(state: np.ndarray, r_end: float) -> float:
    """Analytic time from `state` to radius `r_end` on the descending branch (Kepler's equation)."""
    r_vec, v_vec = state[:3], state[3:]
    r, v2 = np.linalg.norm(r_vec), v_vec @ v_vec
    a = 1.0 / (2.0 / r - v2 / GM_M3_S2)
    e_vec = ((v2 - GM_M3_S2 / r) * r_vec - (r_vec @ v_vec) * v_vec) / GM_M3_S2
    e = np.linalg.norm(e_vec)
    n = np.sqrt(GM_M3_S2 / a**3)

    def mean_anomaly(radius: float, ascending: bool) -> float:
        ecc_anomaly = np.arccos(np.clip((1.0 - radius / a) / e, -1.0, 1.0))
        if not ascending:
            ecc_anomaly = 2.0 * np.pi - ecc_anomaly
        return float(ecc_anomaly - e * np.sin(ecc_anomaly))

    m0 = mean_anomaly(r, ascending=bool(r_vec @ v_vec > 0))
    return (mean_anomaly(r_end, ascending=False) - m0) / n


@pytest.mark.parametrize(("gamma_deg", "speed"), [(45.0, 3000.0), (70.0, 5000.0), (30.0, 6800.0)])
def test_time_of_flight_matches_kepler(gamma_deg: float, speed: float) -> None:
    state = launch_state(39.2, 125.67, 95.0, gamma_deg, speed)
    state[:3] *= 1.0 + 1e3 / np.linalg.norm(state[:3])  # start 1 km up, above the ellipsoid
    sol = propagate_to_impact(state[None], step_s=2.0, model=KEPLER_MODEL)
    expected = kepler_time_of_flight(state, float(np.linalg.norm(sol.ecef[0])))
    assert float(sol.time_s[0]) == pytest.approx(expected, abs=0.1)


def test_impact_point_agrees_with_fine_step_reference() -> None:
    states = np.stack(
        [
            launch_state(39.2, 125.67, 95.0, 45.0, 3000.0),
            launch_state(39.0, 125.0, 80.0, 60.0, 4500.0),
        ]
    )
    coarse = propagate_to_impact(states, step_s=2.0)
    fine = propagate_to_impact(states, step_s=0.1)
    assert np.max(np.linalg.norm(coarse.ecef - fine.ecef, axis=1)) < 50.0
    np.testing.assert_allclose(coarse.time_s, fine.time_s, atol=0.01)
    np.testing.assert_allclose(coarse.apogee_alt_m, fine.apogee_alt_m, atol=10.0)


def _counting_evaluations(monkeypatch: pytest.MonkeyPatch) -> list[np.ndarray]:
    """Every position the propagator evaluates the acceleration at, recorded."""
    seen: list[np.ndarray] = []
    accel = propagate_module.acceleration

    def counting(pos: np.ndarray, vel: np.ndarray, model: object) -> np.ndarray:
        seen.append(pos.copy())
        return accel(pos, vel, model)  # type: ignore[arg-type]

    monkeypatch.setattr(propagate_module, "acceleration", counting)
    return seen


@pytest.mark.parametrize("beta", [None, 10_000.0, 300.0])
def test_coarse_steps_above_the_air_move_the_impact_by_millimetres(
    beta: float | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With drag (a blunt body most), this holds only because a coarse step stays high
    # above the air (`COARSE_FLOOR_M`): flown into it, 20 s steps miss the impact.
    launched = np.stack(
        [
            launch_state(39.2, 125.67, 95.0, 50.0, 4000.0),
            launch_state(39.0, 125.0, 80.0, 60.0, 4500.0),
            launch_state(39.0, 125.0, 80.0, 35.0, 6000.0),
        ]
    )
    states = propagate(launched, 5.0, 60.0)  # climbing, as after burnout
    model = FULL_MODEL.with_ballistic_coefficient(beta)
    seen = _counting_evaluations(monkeypatch)
    fixed = propagate_to_impact(states, step_s=5.0, model=model)
    fixed_evaluations = len(seen)
    seen.clear()
    coarse = propagate_to_impact(states, step_s=5.0, coarse_step_s=20.0, model=model)
    assert len(seen) < 0.6 * fixed_evaluations
    assert np.max(np.linalg.norm(coarse.ecef - fixed.ecef, axis=1)) < 0.05
    np.testing.assert_allclose(coarse.time_s, fixed.time_s, atol=1e-3)


def test_a_coarse_path_is_sampled_where_the_fine_one_is_and_lies_on_it() -> None:
    launched = launch_state(39.0, 125.0, 80.0, 60.0, 4500.0)
    state = propagate(launched[None], 5.0, 60.0)[0]
    times, states = propagate_path(state, step_s=5.0, t0_s=100.0)
    coarse_times, coarse_states = propagate_path(state, step_s=5.0, t0_s=100.0, coarse_step_s=20.0)
    np.testing.assert_allclose(coarse_times, times, atol=1e-3)
    assert np.max(np.linalg.norm(coarse_states[:, :3] - states[:, :3], axis=1)) < 0.05
    assert np.max(np.linalg.norm(coarse_states[:, 3:] - states[:, 3:], axis=1)) < 0.01


def test_a_coarse_step_shorter_than_the_fine_one_is_refused() -> None:
    state = launch_state(39.2, 125.67, 95.0, 45.0, 3000.0)
    with pytest.raises(PhysicsError, match="coarse_step_s"):
        propagate_to_impact(state[None], step_s=5.0, coarse_step_s=2.0)


def test_path_ends_at_the_impact() -> None:
    state = launch_state(39.2, 125.67, 95.0, 45.0, 3000.0)
    times, states = propagate_path(state, step_s=1.0)
    sol = propagate_to_impact(state[None], step_s=1.0)
    assert times[-1] == pytest.approx(float(sol.time_s[0]))
    np.testing.assert_allclose(states[-1, :3], sol.ecef[0], atol=1e-6)
    assert np.all(np.diff(times) > 0)


def test_orbit_that_never_comes_down_is_named() -> None:
    falling = launch_state(0.0, 0.0, 90.0, 45.0, 3000.0)
    orbiting = launch_state(0.0, 0.0, 90.0, 0.0, 7900.0)
    orbiting[:3] *= 1.05
    with pytest.raises(PhysicsError, match=r"\[1\]"):
        propagate_to_impact(np.stack([falling, orbiting]), max_time_s=3000.0, step_s=5.0)
