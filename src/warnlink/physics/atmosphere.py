"""Air density of the U.S. Standard Atmosphere 1976, vectorised over heights.

Model: U.S. Standard Atmosphere, 1976 (NOAA/NASA/USAF, NOAA-S/T 76-1562, Washington DC,
1976). Below 86 km geometric height the atmosphere is seven layers in geopotential height
H = r0 h / (r0 + h) (r0 = 6,356.766 km), each with a base height, base temperature and a
linear temperature lapse rate (Table 4 of the standard); pressure follows from the
hydrostatic equation with constant gravity g0 in H (a power law in T for a lapsing
layer, an exponential for an isothermal one) and density from the ideal gas law
rho = P M0 / (R* T). Above 86 km, where the standard integrates
diffusion equations instead, the density is interpolated exponentially (linearly in
log rho) between values tabulated in the standard (Table I) at 86, 90, 100, 110, 120, 150,
200, 300, 500 and 1,000 km; it is zero above 1,000 km, and below the surface it continues
the first layer down to `BOTTOM_M` and is held constant below it (only a propagation step
or a sigma point overshooting the ground goes there).

For speed, `density_kg_m3` interpolates log rho linearly in a table built once from that
model: every `TABLE_STEP_M` below 86 km (relative error < 1e-3, largest where the lapse rate
changes), and the standard's own nodes above.

Units: heights in metres (geometric height above the reference surface; callers pass the
geodetic height), density in kg/m^3. Accuracy against the published table is a few parts
per thousand below 86 km (the constants are the standard's own) and a few per cent
between the tabulated heights above it.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from warnlink.geo.wgs84 import FloatArray

R0_GEOPOTENTIAL_M: Final = 6_356_766.0
"""Earth radius the standard uses to convert geometric to geopotential height, m."""
G0_M_S2: Final = 9.80665
"""Standard gravity, m/s^2 (also the unit of geopotential)."""
M0_KG_MOL: Final = 0.0289644
"""Mean molar mass of sea-level air, kg/mol."""
R_STAR_J_MOL_K: Final = 8.31432
"""Universal gas constant as the 1976 standard gives it, J/(mol K)."""
TOP_OF_LAYERS_M: Final = 86_000.0
"""Geometric height where the layered (hydrostatic) model ends, m."""
BOTTOM_M: Final = -5_000.0
"""Below this geometric height the density is that of this height, m."""
TOP_OF_ATMOSPHERE_M: Final = 1_000_000.0
"""Above this geometric height the density is taken as zero, m."""
TABLE_STEP_M: Final = 250.0
"""Spacing of the interpolation table below 86 km, m."""

# Layers below 86 km: base geopotential height (m), base temperature (K), lapse rate (K/m).
_BASE_H_M: Final = np.array([0.0, 11_000.0, 20_000.0, 32_000.0, 47_000.0, 51_000.0, 71_000.0])
_LAPSE_K_M: Final = np.array([-6.5e-3, 0.0, 1.0e-3, 2.8e-3, 0.0, -2.8e-3, -2.0e-3])
_SEA_LEVEL_T_K: Final = 288.15
_SEA_LEVEL_P_PA: Final = 101_325.0
_HYDROSTATIC: Final = G0_M_S2 * M0_KG_MOL / R_STAR_J_MOL_K
"""g0 M0 / R*, K/m: the constant of the hydrostatic equation."""

# Upper atmosphere: geometric height (m) and tabulated density (kg/m^3), USSA 1976 Table I.
_UPPER_H_M: Final = np.array([86e3, 90e3, 100e3, 110e3, 120e3, 150e3, 200e3, 300e3, 500e3, 1000e3])
_UPPER_LOG_RHO: Final = np.log(
    np.array(
        [
            6.958e-6,
            3.416e-6,
            5.604e-7,
            9.708e-8,
            2.222e-8,
            2.076e-9,
            2.541e-10,
            1.916e-11,
            5.215e-13,
            3.561e-15,
        ]
    )
)


def _layer_bases() -> tuple[FloatArray, FloatArray]:
    """Base temperatures (K) and pressures (Pa) of the seven layers, from sea level up."""
    temps = [_SEA_LEVEL_T_K]
    pressures = [_SEA_LEVEL_P_PA]
    for k in range(len(_BASE_H_M) - 1):
        t_b, p_b, lapse = temps[-1], pressures[-1], float(_LAPSE_K_M[k])
        dh = float(_BASE_H_M[k + 1] - _BASE_H_M[k])
        t_top = t_b + lapse * dh
        if lapse == 0.0:
            p_top = p_b * float(np.exp(-_HYDROSTATIC * dh / t_b))
        else:
            p_top = p_b * (t_b / t_top) ** (_HYDROSTATIC / lapse)
        temps.append(t_top)
        pressures.append(p_top)
    return np.array(temps), np.array(pressures)


_BASE_T_K, _BASE_P_PA = _layer_bases()


def geopotential_height_m(height_m: FloatArray | float) -> FloatArray:
    """Geopotential height (m') of geometric heights (m): H = r0 h / (r0 + h)."""
    h = np.asarray(height_m, dtype=np.float64)
    return np.asarray(R0_GEOPOTENTIAL_M * h / (R0_GEOPOTENTIAL_M + h))


def _layered_density(height_m: FloatArray) -> FloatArray:
    """Hydrostatic density below 86 km (geometric), kg/m^3, for any shape of heights."""
    hp = geopotential_height_m(np.maximum(height_m, BOTTOM_M))
    k = np.clip(np.searchsorted(_BASE_H_M, hp, side="right") - 1, 0, len(_BASE_H_M) - 1)
    t_b, p_b, lapse = _BASE_T_K[k], _BASE_P_PA[k], _LAPSE_K_M[k]
    dh = hp - _BASE_H_M[k]
    temp = t_b + lapse * dh
    isothermal = lapse == 0.0
    safe_lapse = np.where(isothermal, 1.0, lapse)
    pressure = np.where(
        isothermal,
        p_b * np.exp(-_HYDROSTATIC * np.where(isothermal, dh, 0.0) / t_b),
        p_b * (t_b / temp) ** (_HYDROSTATIC / safe_lapse),
    )
    return np.asarray(pressure * M0_KG_MOL / (R_STAR_J_MOL_K * temp))


def model_density_kg_m3(height_m: FloatArray | float) -> FloatArray:
    """Air density (same shape as the input), kg/m^3, evaluated from the model itself.

    U.S. Standard Atmosphere 1976 (see the module docstring): layered hydrostatic model to
    86 km, exponential interpolation of the tabulated densities to 1,000 km, zero above.
    """
    h = np.asarray(height_m, dtype=np.float64)
    low = h < TOP_OF_LAYERS_M
    rho = np.zeros_like(h)
    if np.any(low):
        rho[low] = _layered_density(h[low])
    high = ~low & (h <= TOP_OF_ATMOSPHERE_M)
    if np.any(high):
        rho[high] = np.exp(np.interp(h[high], _UPPER_H_M, _UPPER_LOG_RHO))
    return rho


_TABLE_H_M: Final = np.concatenate([np.arange(BOTTOM_M, TOP_OF_LAYERS_M, TABLE_STEP_M), _UPPER_H_M])
_TABLE_LOG_RHO: Final = np.log(model_density_kg_m3(_TABLE_H_M))


def density_kg_m3(height_m: FloatArray | float) -> FloatArray:
    """Air density (same shape as the input), kg/m^3, at geometric heights in metres.

    The model of `model_density_kg_m3`, interpolated in its table (see the module
    docstring): what the equations of motion call.
    """
    h = np.asarray(height_m, dtype=np.float64)
    rho = np.exp(np.interp(h, _TABLE_H_M, _TABLE_LOG_RHO))
    return np.asarray(np.where(h <= TOP_OF_ATMOSPHERE_M, rho, 0.0))
