"""Scenario files: launches and sensors of an exercise, in TOML, and running them.

Format (TOML 1.0, read with the standard library's ``tomllib``, checked with msgspec)::

    [scenario]
    name = "..."
    epoch_utc = "2026-11-24T00:00:00Z"     # ISO 8601, UTC
    description = "..."

    [[launches]]
    id = "L1"                               # unique
    site = "Sunan"                          # name of the launch area
    lat_deg = 39.20
    lon_deg = 125.67
    azimuth_deg = 78.0
    range_km = 900.0
    apogee_km = 450.0                       # optional: minimum-energy when absent
    burn_time_s = 80.0                      # optional: chosen from the energy when absent
    offset_s = 0.0                          # launch time after the epoch
    ballistic_coefficient_kg_m2 = 10000.0   # optional: re-entry body's m/(Cd A); vacuum if absent

    [[sensors]]                             # fields of `warnlink.sensors.sensor.Sensor`
    name = "ROK-GR1"
    party = "ROK"
    kind = "radar"                          # or "ir"
    ...

Every error is a `ConfigError` naming the file, the dotted key and, for syntax, the line.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import numpy as np

from warnlink.errors import ConfigError, PhysicsError
from warnlink.estimation.boost_tracker import Measurement, iter_boost
from warnlink.estimation.radar_tracker import split_at_coasts, track_ballistic
from warnlink.model.bounds import MAX_UTC_NS, MIN_UTC_NS
from warnlink.model.payloads import Phase
from warnlink.model.time import NS_PER_S, datetime_to_utc_ns
from warnlink.model.track_estimate import TrackEstimate
from warnlink.sensors.sensor import Sensor
from warnlink.sim.launch import LaunchSpec, fly
from warnlink.sim.measurements import ir_measurements, radar_measurements
from warnlink.sim.trajectory import Trajectory

# Bounds of a scenario, so a hostile or mistyped file is refused at once instead of
# hanging a run or exhausting memory: a launch within an hour of the epoch (`MAX_OFFSET_S`;
# the run lasts its last flight after it), ranges and apogees of ballistic missiles
# (half the Earth's circumference; above the highest lofted apogee flown, ~7,700 km),
# sensors revisiting at most ten times a second (the simulation samples every
# sensor at every update over the whole run), and the epoch in 2000..2100
# (`model.bounds`, as every message's time). A bounded float is never NaN or infinite
# (msgspec refuses them).
MAX_OFFSET_S = 3_600.0
MIN_UPDATE_S = 0.1
MAX_LAUNCHES = 256
MAX_SENSORS = 256
Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]


class _Header(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    epoch_utc: str
    description: str = ""


class _Launch(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    site: str
    lat_deg: Latitude
    lon_deg: Longitude
    azimuth_deg: Annotated[float, msgspec.Meta(ge=-360.0, le=360.0)]
    range_km: Annotated[float, msgspec.Meta(ge=0.0, le=20_000.0)]
    apogee_km: Annotated[float, msgspec.Meta(ge=0.0, le=10_000.0)] | None = None
    burn_time_s: Annotated[float, msgspec.Meta(ge=0.0, le=1_000.0)] | None = None
    offset_s: Annotated[float, msgspec.Meta(ge=0.0, le=MAX_OFFSET_S)] = 0.0
    ballistic_coefficient_kg_m2: Annotated[float, msgspec.Meta(ge=0.0, le=1e7)] | None = None


class _Sensor(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    party: str
    kind: Literal["radar", "ir"]
    lat_deg: Latitude
    lon_deg: Longitude
    alt_m: Annotated[float, msgspec.Meta(ge=-1_000.0, le=50_000_000.0)]
    max_range_km: Annotated[float, msgspec.Meta(ge=0.0, le=100_000.0)]
    min_elevation_deg: Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
    update_s: Annotated[float, msgspec.Meta(ge=MIN_UPDATE_S, le=3_600.0)]
    range_sigma_m: Annotated[float, msgspec.Meta(ge=0.0, le=1e6)]
    angle_sigma_mrad: Annotated[float, msgspec.Meta(ge=0.0, le=1e3)]
    latency_s: Annotated[float, msgspec.Meta(ge=0.0, le=3_600.0)]


class _File(msgspec.Struct, forbid_unknown_fields=True):
    scenario: _Header
    launches: Annotated[list[_Launch], msgspec.Meta(max_length=MAX_LAUNCHES)]
    sensors: Annotated[list[_Sensor], msgspec.Meta(max_length=MAX_SENSORS)] = []


@dataclass(frozen=True, slots=True)
class ScenarioLaunch:
    """One launch of a scenario: its id, the launch area's name and what to fly."""

    id: str
    site: str
    spec: LaunchSpec


@dataclass(frozen=True, slots=True)
class Scenario:
    """A loaded scenario. Times in the simulation are seconds after `epoch_utc_ns`."""

    name: str
    epoch_utc_ns: int
    description: str
    launches: tuple[ScenarioLaunch, ...]
    sensors: tuple[Sensor, ...]

    @property
    def parties(self) -> tuple[str, ...]:
        """Parties owning sensors, sorted."""
        return tuple(sorted({s.party for s in self.sensors}))

    def sensors_of(self, party: str) -> tuple[Sensor, ...]:
        return tuple(s for s in self.sensors if s.party == party)


def default_scenario_path() -> Path:
    """The packaged default scenario (``warnlink/data/default_scenario.toml``)."""
    return Path(str(resources.files("warnlink") / "data" / "default_scenario.toml"))


_MSGSPEC_PATH = re.compile(r"at `\$\.?(?P<key>[^`]*)`")
_TOML_LINE = re.compile(r"line (?P<line>\d+)")


def _key_of(exc: msgspec.ValidationError) -> str | None:
    match = _MSGSPEC_PATH.search(str(exc))
    return match.group("key") if match else None


def scenario_from_mapping(data: Mapping[str, Any], *, path: str | None = None) -> Scenario:
    """Validate and convert parsed TOML (a mapping) into a `Scenario`.

    Raises:
        ConfigError: naming the offending key.
    """
    try:
        raw = msgspec.convert(data, type=_File)
    except msgspec.ValidationError as exc:
        raise ConfigError(str(exc).split(" - at ")[0], path=path, key=_key_of(exc)) from exc
    try:
        epoch = datetime.fromisoformat(raw.scenario.epoch_utc)
        epoch_ns = datetime_to_utc_ns(epoch)
    except ValueError as exc:
        raise ConfigError(
            f"not an ISO 8601 UTC time: {exc}", path=path, key="scenario.epoch_utc"
        ) from exc
    if not MIN_UTC_NS <= epoch_ns < MAX_UTC_NS - round(MAX_OFFSET_S * NS_PER_S):
        raise ConfigError(
            "the epoch must be in the years 2000 to 2099", path=path, key="scenario.epoch_utc"
        )
    launches: list[ScenarioLaunch] = []
    for i, item in enumerate(raw.launches):
        try:
            spec = LaunchSpec(
                site_lat_deg=item.lat_deg,
                site_lon_deg=item.lon_deg,
                azimuth_deg=item.azimuth_deg,
                range_km=item.range_km,
                apogee_km=item.apogee_km,
                burn_time_s=item.burn_time_s,
                launch_offset_s=item.offset_s,
                ballistic_coefficient_kg_m2=item.ballistic_coefficient_kg_m2,
            )
        except PhysicsError as exc:
            raise ConfigError(str(exc), path=path, key=f"launches[{i}]") from exc
        launches.append(ScenarioLaunch(id=item.id, site=item.site, spec=spec))
    sensors: list[Sensor] = []
    for i, entry in enumerate(raw.sensors):
        try:
            sensors.append(Sensor(**msgspec.structs.asdict(entry)))
        except ConfigError as exc:
            raise ConfigError(str(exc), path=path, key=f"sensors[{i}].{exc.key}") from exc
    for what, names in (
        ("launch id", [x.id for x in launches]),
        ("sensor name", [s.name for s in sensors]),
    ):
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(f"duplicate {what}: {', '.join(duplicates)}", path=path)
    return Scenario(
        name=raw.scenario.name,
        epoch_utc_ns=epoch_ns,
        description=raw.scenario.description,
        launches=tuple(launches),
        sensors=tuple(sensors),
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file.

    Raises:
        ConfigError: unreadable file, TOML syntax error (with line) or invalid content (with key).
    """
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read scenario: {exc.strerror}", path=where) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"scenario is not UTF-8 text: {exc}", path=where) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        line = int(match.group("line")) if match else None
        raise ConfigError(f"TOML syntax: {exc}", path=where, line=line) from exc
    except RecursionError as exc:  # tomllib recurses into nested arrays and tables
        raise ConfigError("TOML syntax: nested too deeply", path=where) from exc
    return scenario_from_mapping(data, path=where)


def simulate_scenario(scenario: Scenario) -> dict[str, Trajectory]:
    """Fly every launch of the scenario (deterministic): launch id -> trajectory."""
    return {launch.id: fly(launch.spec) for launch in scenario.launches}


def simulate_party(
    scenario: Scenario,
    trajectories: Mapping[str, Trajectory],
    party: str,
    rng: np.random.Generator,
) -> list[TrackEstimate]:
    """Every track report one party's tracker publishes, sorted by `available_s`.

    The party's radars make noisy plots (`sim.measurements.radar_measurements`) and its IR
    satellites noisy lines of sight (`sim.measurements.ir_measurements`). All of them feed
    the boost-phase filter (`estimation.boost_tracker.iter_boost`), which models thrust
    and finds burnout (its coast mode's probability); radar plots from then on feed the
    ballistic UKF (`estimation.radar_tracker.track_ballistic`), whose reports take over
    from the boost filter's. Where the boost filter never finds burnout, the ballistic UKF
    finds it from its own innovations.
    A party whose sensors never see the flight reports nothing about it.

    Track numbers are 1, 2, ... in the scenario's launch order, distinct per launch. A radar
    track deleted for coasting (`estimation.radar_tracker.split_at_coasts`) is followed, if
    the radars see the missile again, by a new track numbered n more (n launches), so a
    track number is always its launch's place modulo n.

    Raises:
        ConfigError: if the party has no sensors in the scenario.
    """
    sensors = scenario.sensors_of(party)
    if not sensors:
        raise ConfigError(f"party {party!r} has no sensors in scenario {scenario.name!r}")
    radars = [s for s in sensors if s.kind == "radar"]
    infrared = [s for s in sensors if s.kind == "ir"]
    reports: list[TrackEstimate] = []
    for number, launch in enumerate(scenario.launches, start=1):
        trajectory = trajectories[launch.id]
        plots = [m for radar in radars for m in radar_measurements(trajectory, radar, rng)]
        sightings = [m for ir in infrared for m in ir_measurements(trajectory, ir, rng)]
        plots.sort(key=lambda m: (m.time_s, m.sensor))
        measurements: list[Measurement] = [*plots, *sightings]
        measurements.sort(key=lambda m: (m.time_s, m.sensor))
        boost_reports = iter_boost(measurements, sensors=sensors, track_number=number, party=party)
        boost: list[TrackEstimate] = []
        for report in boost_reports:  # up to the first report past burnout
            boost.append(report)
            if report.phase != Phase.BOOST:
                break
        burnout_s = boost[-1].time_s if boost and boost[-1].phase != Phase.BOOST else None
        ballistic: list[TrackEstimate] = []
        for run, run_plots in enumerate(split_at_coasts(plots)):
            start_s = run_plots[0].time_s if run else burnout_s
            ballistic += track_ballistic(
                run_plots,
                sensors=radars,
                track_number=number + run * len(scenario.launches),
                party=party,
                start_s=start_s,
            )
        ballistic_from = ballistic[0].time_s if ballistic else math.inf
        for report in boost_reports:  # the rest of the boost filter's, until the handover
            if report.time_s >= ballistic_from:
                break
            boost.append(report)
        reports += [e for e in boost if e.time_s < ballistic_from]
        reports += ballistic
    return sorted(reports, key=lambda r: (r.available_s, r.time_s, r.track_number))
