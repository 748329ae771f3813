"""The 1976 standard atmosphere against its published table, and drag in the dynamics."""

from __future__ import annotations

import numpy as np
import pytest

from warnlink.errors import PhysicsError
from warnlink.geo.wgs84 import enu_rotation, lla_to_ecef
from warnlink.physics.atmosphere import density_kg_m3, model_density_kg_m3
from warnlink.physics.dynamics import FULL_MODEL, ForceModel, acceleration, jacobi_integral
from warnlink.physics.propagate import propagate, propagate_path, propagate_to_impact

# U.S. Standard Atmosphere 1976, Table I (geometric height, density).
PUBLISHED = [
    (0.0, 1.2250),
    (10e3, 4.1351e-1),
    (30e3, 1.8410e-2),
    (50e3, 1.0269e-3),
    (80e3, 1.8458e-5),
    (100e3, 5.604e-7),
]


@pytest.mark.parametrize(("height_m", "rho"), PUBLISHED)
def test_density_matches_the_published_table(height_m: float, rho: float) -> None:
    assert float(density_kg_m3(height_m)) == pytest.approx(rho, rel=0.01)


def test_density_is_vectorised_monotonic_and_continuous() -> None:
    heights = np.linspace(-500.0, 1.2e6, 5001).reshape(-1, 1)
    rho = density_kg_m3(heights)
    assert rho.shape == heights.shape
    assert np.all(np.diff(rho[:, 0]) <= 0.0)
    assert np.all(rho[heights[:, 0] > 1e6] == 0.0)
    below, above = density_kg_m3(np.array([85_999.0, 86_000.0]))
    assert below == pytest.approx(above, rel=0.01)  # layered model meets the table at 86 km


def test_interpolation_table_agrees_with_the_model() -> None:
    heights = np.random.default_rng(0).uniform(-6e3, 1.1e6, 20_000)
    fast, exact = density_kg_m3(heights), model_density_kg_m3(heights)
    inside = exact > 0.0
    np.testing.assert_allclose(fast[inside], exact[inside], rtol=1e-3)
    assert np.all(fast[~inside] == 0.0)


def _down(lat: float, lon: float, height_m: float, speed_mps: float) -> np.ndarray:
    up = enu_rotation(lat, lon)[2]
    return np.concatenate([lla_to_ecef(lat, lon, height_m), -speed_mps * up])


def test_drag_deceleration_is_rho_v2_over_2_beta() -> None:
    state = _down(36.0, 127.0, 10e3, 3000.0)
    drag = ForceModel(ballistic_coefficient_kg_m2=10_000.0)
    pos, vel = state[None, :3], state[None, 3:]
    extra = acceleration(pos, vel, drag) - acceleration(pos, vel, FULL_MODEL)
    expected = 0.41351 * 3000.0**2 / (2.0 * 10_000.0)  # ~186 m/s^2, against the motion
    assert float(np.linalg.norm(extra)) == pytest.approx(expected, rel=0.01)
    assert float(extra[0] @ vel[0]) < 0.0


def test_falling_body_reaches_terminal_velocity() -> None:
    # Dropped at its terminal speed at 2 km, a light body stays near the local terminal
    # speed sqrt(2 beta g / rho) all the way down; in vacuum it would hit at ~240 m/s.
    beta = 1000.0

    def terminal(height_m: float) -> float:
        return float(np.sqrt(2.0 * beta * 9.8 / density_kg_m3(height_m)))

    state = _down(36.0, 127.0, 2000.0, terminal(2000.0))
    sol = propagate_to_impact(
        state[None], step_s=0.5, model=ForceModel(ballistic_coefficient_kg_m2=beta)
    )
    speed = float(np.linalg.norm(sol.vel_ecef_mps[0]))
    assert terminal(0.0) < speed < terminal(2000.0)
    vacuum = propagate_to_impact(state[None], step_s=0.5)
    assert float(np.linalg.norm(vacuum.vel_ecef_mps[0])) > 1.5 * speed


def test_drag_only_takes_energy_and_per_state_betas_order_the_losses() -> None:
    rot = enu_rotation(39.0, 130.0)
    state = np.concatenate([lla_to_ecef(39.0, 130.0, 90e3), 3000.0 * (0.8 * rot[0] - 0.6 * rot[2])])
    betas = np.array([5_000.0, 20_000.0, np.inf])
    model = ForceModel(ballistic_coefficient_kg_m2=betas)
    _, path = propagate_path(state, step_s=1.0, model=ForceModel(ballistic_coefficient_kg_m2=5e3))
    energy = jacobi_integral(path, FULL_MODEL)
    assert np.all(np.diff(energy) < 0.0)
    out = propagate(np.repeat(state[None], 3, axis=0), 1.0, 20.0, model=model)
    loss = jacobi_integral(state, FULL_MODEL) - jacobi_integral(out, FULL_MODEL)
    assert loss[0] > loss[1] > 0.0
    assert abs(loss[2]) < 1e-3  # inf: vacuum, the Jacobi integral is conserved
    sol = propagate_to_impact(np.repeat(state[None], 3, axis=0), model=model)
    assert sol.time_s[0] > sol.time_s[1] > sol.time_s[2]  # more drag, slower descent


def test_bad_ballistic_coefficients_raise() -> None:
    with pytest.raises(PhysicsError):
        ForceModel(ballistic_coefficient_kg_m2=0.0)
    model = ForceModel(ballistic_coefficient_kg_m2=np.array([1e4, 2e4]))
    with pytest.raises(PhysicsError, match="3 states"):
        propagate(np.zeros((3, 6)) + 7e6, 1.0, 1.0, model=model)
