"""Published real launches, and whether the launch model reproduces them.

The table format is that of ``scenarios/launches.csv`` (comment lines start with
``#``; columns date, launch_jst, site, apogee_km, apogee_at_least, range_km,
flight_min, impact_area). For each row, `check_launch` flies the request its site,
apogee and range describe (`sim.flight.describe_flight`) and compares the flight time
with the published one. A row with an exact apogee must land within
`FLIGHT_TIME_TOLERANCE`; a row whose apogee is a lower bound is reported, not judged
(the model flies the bound, so it comes out short); a row with apogee <= 100 km is
flown as a depressed flight and flagged as not ballistic, not judged.

Launch areas are public place names; `LAUNCH_SITES` holds approximate coordinates.
The azimuth barely moves the flight time (Earth rotation), so rows are flown due east
unless a caller says otherwise.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from warnlink.errors import ConfigError, PhysicsError
from warnlink.sim.flight import FlightDescription, describe_flight
from warnlink.sim.launch import GENERIC_BALLISTIC_COEFFICIENT_KG_M2, LaunchSpec

FLIGHT_TIME_TOLERANCE: Final = 0.10

#: Published launch areas, approximate (deg N, deg E).
LAUNCH_SITES: Final[Mapping[str, tuple[float, float]]] = {
    "Kusong": (39.98, 125.24),
    "Panghyon": (40.00, 125.21),
    "Mupyong-ni": (40.61, 126.42),
    "Sunan": (39.20, 125.67),
    "Pyongsong": (39.25, 125.87),
    "Pyongyang": (39.03, 125.75),
    "off Wonsan (submarine)": (39.30, 127.95),
}

_COLUMNS: Final = (
    "date",
    "launch_jst",
    "site",
    "apogee_km",
    "apogee_at_least",
    "range_km",
    "flight_min",
    "impact_area",
)


@dataclass(frozen=True, slots=True)
class PublishedLaunch:
    """One row of the table."""

    line: int
    date: str
    launch_jst: str
    site: str
    apogee_km: float
    apogee_at_least: bool
    range_km: float
    flight_min: float
    impact_area: str


@dataclass(frozen=True, slots=True)
class LaunchCheck:
    """A row flown by the model.

    Attributes:
        verdict: ``pass`` (within tolerance), ``fail``, ``lower_bound`` (apogee is a
            lower bound: reported, not judged), ``not_ballistic`` (apogee <= 100 km) or
            ``error`` (unknown site, or the model could not fly it; see `error`).
    """

    row: PublishedLaunch
    flight: FlightDescription | None
    model_flight_min: float | None
    relative_error: float | None
    verdict: str
    error: str | None = None


def read_launches(path: str | Path) -> list[PublishedLaunch]:
    """Read a launches table.

    Raises:
        ConfigError: the file cannot be read, or a row is malformed (file, line, column).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read launches table: {exc.strerror}", path=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"launches table is not UTF-8 text: {exc}", path=str(path)) from exc
    numbered = [
        (n, line)
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not numbered or _fields(*numbered[0], str(path)) != list(_COLUMNS):
        raise ConfigError(f"the header must be: {','.join(_COLUMNS)}", path=str(path))
    rows = []
    for n, line in numbered[1:]:
        fields = _fields(n, line, str(path))
        if len(fields) != len(_COLUMNS):
            raise ConfigError(
                f"expected {len(_COLUMNS)} columns, got {len(fields)}", path=str(path), line=n
            )
        values = dict(zip(_COLUMNS, fields, strict=True))
        rows.append(_row(values, n, str(path)))
    return rows


def _fields(number: int, line: str, path: str) -> list[str]:
    """One line's CSV fields."""
    try:
        return next(csv.reader([line]))
    except csv.Error as exc:  # e.g. a field over csv's size limit
        raise ConfigError(f"not a CSV row: {exc}", path=path, line=number) from exc


def _row(values: dict[str, str], line: int, path: str) -> PublishedLaunch:
    def number(column: str) -> float:
        try:
            return float(values[column])
        except ValueError as exc:
            raise ConfigError(
                f"{column} is not a number: {values[column]!r}", path=path, line=line, key=column
            ) from exc

    if values["apogee_at_least"] not in ("yes", "no"):
        raise ConfigError(
            "apogee_at_least must be yes or no", path=path, line=line, key="apogee_at_least"
        )
    return PublishedLaunch(
        line=line,
        date=values["date"],
        launch_jst=values["launch_jst"],
        site=values["site"],
        apogee_km=number("apogee_km"),
        apogee_at_least=values["apogee_at_least"] == "yes",
        range_km=number("range_km"),
        flight_min=number("flight_min"),
        impact_area=values["impact_area"],
    )


def check_launch(row: PublishedLaunch, *, azimuth_deg: float = 90.0) -> LaunchCheck:
    """Fly one published launch and judge the flight time against the published one."""
    site = LAUNCH_SITES.get(row.site)
    if site is None:
        known = ", ".join(LAUNCH_SITES)
        return LaunchCheck(
            row, None, None, None, "error", f"unknown site {row.site!r} (known: {known})"
        )
    try:
        spec = LaunchSpec(
            site[0],
            site[1],
            azimuth_deg,
            row.range_km,
            apogee_km=row.apogee_km,
            ballistic_coefficient_kg_m2=GENERIC_BALLISTIC_COEFFICIENT_KG_M2,
        )
        flight = describe_flight(spec)
    except PhysicsError as exc:
        return LaunchCheck(row, None, None, None, "error", str(exc))
    model_min = flight.flight_time_s / 60.0
    error = (model_min - row.flight_min) / row.flight_min
    if not flight.ballistic:
        verdict = "not_ballistic"
    elif row.apogee_at_least:
        verdict = "lower_bound"
    else:
        verdict = "pass" if abs(error) <= FLIGHT_TIME_TOLERANCE else "fail"
    return LaunchCheck(row, flight, model_min, error, verdict)
