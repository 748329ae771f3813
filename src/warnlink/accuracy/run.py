"""The accuracy benchmark: every scenario over several seeds, figures against truth.

Method. Each (scenario, seed) is played through the reference federation by the demo
(`warnlink.demo.run_demo`, the whole pipeline: national trackers, reporters, gateways,
relay, pictures), which calls back every second of scenario time once the bus is idle;
`_Recorder` reads the parties' pictures then, without changing them. Truth is the flown
trajectories (`sim.scenario.simulate_scenario`, deterministic). An originator's track
number is its launch's place in the scenario (1, 2, ...; plus n for each re-acquisition
after a deletion, n launches: the contract of `sim.scenario.simulate_party`), which ties
each report to its truth without association.

Figures per run (times in seconds of scenario time, read at 1 s resolution):

- first launch report at each party: the first time a launch report of the missile from
  any originator is in the party's picture, after launch; the same less the time the
  first track report of it was issued anywhere (what the 1 s target bounds); and less the
  time the first launch report was issued anywhere (the delay of sharing alone).
- IPP error at 30, 60 and 120 s after true burnout: per originator, the latest impact
  prediction in its own picture at that time against the true impact point (great circle),
  and its impact time error.
- coverage: for every impact prediction an originator issued, whether the true impact lies
  inside its 95 % ellipse; and the mean squared Mahalanobis distance of the truth from
  the prediction implied by the ellipse (2 when the ellipse is right, less when too big).
- launch point error: each originator's latest launch report against the launch site, and
  its launch time error.
- GOSPA (cut-off `metrics.DEFAULT_CUTOFF_M`, p = 2) of each party's picture every
  `SAMPLE_S`: the positions of its events' fused tracks (brought to the sample time by
  `fusion.gating.extrapolate`; events whose every track has ended, or whose newest track
  is older than `STALE_S`, left out) against the missiles in flight; and the dual-track
  rate: how often a missile in flight is held by more than one event (by fused track
  within the cut-off, or, for an event without a track, by impact prediction within
  `IMPACT_HOLD_M` of its true impact point).
"""

from __future__ import annotations

import asyncio
import math
import os
import platform
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from warnlink.accuracy.metrics import (
    DEFAULT_CUTOFF_M,
    dual_track_rate,
    error_stats,
    fraction,
    gospa,
    holders_per_truth,
)
from warnlink.accuracy.stonesoup_ref import compare_trackers, stonesoup_version
from warnlink.accuracy.targets import judge
from warnlink.demo import run_demo
from warnlink.errors import ConfigError
from warnlink.estimation.classify import classify_range
from warnlink.fusion.gating import extrapolate
from warnlink.fusion.picture import Event
from warnlink.geo.ellipse import CHI2_2_95, ellipse_distance2
from warnlink.geo.wgs84 import surface_distance_m
from warnlink.model import ImpactPrediction, LaunchReport, RangeClass, Status
from warnlink.model.time import NS_PER_S
from warnlink.node import Node
from warnlink.sim.scenario import Scenario, load_scenario, simulate_scenario
from warnlink.sim.trajectory import Trajectory

AFTER_BURNOUT_S: Final = (30.0, 60.0, 120.0)
SAMPLE_S: Final = 5
"""Pictures are sampled for GOSPA and dual tracks every this many seconds."""
STALE_S: Final = 30.0
"""An event whose newest track is older than this at a sample is not in the picture's set."""
IMPACT_HOLD_M: Final = 50_000.0
"""An event without a track holds the missile whose true impact is within this of its IPP."""


@dataclass
class _Ipp:
    second: int
    originator: str
    launch: str
    prediction: ImpactPrediction


@dataclass
class _Recorder:
    """Reads the pictures every second of one run (the demo's `observe` callback)."""

    scenario: Scenario
    trajectories: Mapping[str, Trajectory]
    ipps: list[_Ipp] = field(default_factory=list)
    gospa: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    holders: dict[str, list[int]] = field(default_factory=dict)
    nodes: Mapping[str, Node] = field(default_factory=dict)
    _last_ipp: dict[tuple[str, int], int] = field(default_factory=dict)

    def launch_of(self, track_number: int) -> str | None:
        launches = self.scenario.launches
        return launches[(track_number - 1) % len(launches)].id if track_number >= 1 else None

    def __call__(self, second: int, nodes: Mapping[str, Node]) -> None:
        self.nodes = nodes
        for party, node in nodes.items():
            for event in node.picture.events.values():
                for (originator, trk_id), c in event.contributions.items():
                    launch = self.launch_of(trk_id)
                    if originator != party or c.impact is None or launch is None:
                        continue
                    if self._last_ipp.get((originator, trk_id)) != c.impact.epoch:
                        self._last_ipp[(originator, trk_id)] = c.impact.epoch
                        self.ipps.append(_Ipp(second, originator, launch, c.impact))
        if second % SAMPLE_S == 0:
            for party, node in nodes.items():
                self._sample(party, node, float(second))

    def _in_flight(self, t_s: float) -> dict[str, np.ndarray]:
        return {
            launch: trajectory.state_at(t_s - trajectory.launch_time_s)
            for launch, trajectory in self.trajectories.items()
            if 0.0 <= t_s - trajectory.launch_time_s <= trajectory.impact_time_s
        }

    def _sample(self, party: str, node: Node, t_s: float) -> None:
        truths = self._in_flight(t_s)
        if not truths:
            return
        t_ns = self.scenario.epoch_utc_ns + round(t_s * NS_PER_S)
        positions: list[np.ndarray] = []
        impacts: list[ImpactPrediction] = []
        for event in node.picture.events.values():
            position = _event_position(event, t_ns)
            if position is not None:
                positions.append(position)
            elif (ipp := _event_impact(event)) is not None:
                impacts.append(ipp)
        truth_positions = np.array([s[:3] for s in truths.values()])
        result = gospa(truth_positions, np.array(positions))
        self.gospa.setdefault(party, []).append(
            {
                "total": result.total,
                "missed": result.missed_count,
                "false": result.false_count,
            }
        )
        holders = holders_per_truth(truth_positions, np.array(positions))
        for ipp in impacts:
            distances = [
                float(
                    surface_distance_m(
                        ipp.impact_lat,
                        ipp.impact_lon,
                        self.trajectories[k].impact_lat_deg,
                        self.trajectories[k].impact_lon_deg,
                    )
                )
                for k in truths
            ]
            nearest = int(np.argmin(distances))
            if distances[nearest] < IMPACT_HOLD_M:
                holders[nearest] += 1
        self.holders.setdefault(party, []).extend(holders)


def _ended(event: Event) -> bool:
    return all(c.status is not Status.FLYING for c in event.contributions.values())


def _event_position(event: Event, t_ns: int) -> np.ndarray | None:
    if _ended(event):
        return None
    fused = event.fused_state()
    if fused is None or (t_ns - fused.epoch) / NS_PER_S > STALE_S:
        return None
    mean, _ = extrapolate(fused.mean, fused.cov, (t_ns - fused.epoch) / NS_PER_S)
    return np.asarray(mean[:3])


def _event_impact(event: Event) -> ImpactPrediction | None:
    if _ended(event):
        return None
    impacts = [c.impact for c in event.contributions.values() if c.impact is not None]
    return max(impacts, key=lambda i: i.epoch) if impacts else None


def scenario_files(folder: Path) -> list[Path]:
    """The scenario files in a folder (TOML with a ``[scenario]`` table), sorted by name.

    Raises:
        ConfigError: if a TOML file there cannot be read or parsed.
    """
    found = []
    for path in sorted(folder.glob("*.toml")):
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read as TOML: {exc}", path=str(path)) from exc
        if "scenario" in data:
            found.append(path)
    return found


def _after_launch(ns: int | None, epoch_ns: int, launch_s: float) -> float | None:
    return None if ns is None else (ns - epoch_ns) / NS_PER_S - launch_s


def _earliest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _launch_reports(rec: _Recorder) -> dict[str, dict[str, Any]]:
    """Per launch: first track anywhere, and per party first track and first launch report."""
    epoch_ns = rec.scenario.epoch_utc_ns
    out: dict[str, dict[str, Any]] = {}
    for launch, trajectory in rec.trajectories.items():
        launch_s = trajectory.launch_time_s
        firsts: dict[str, dict[str, float | None]] = {}
        first_anywhere: int | None = None
        issued_anywhere: int | None = None
        for party, node in rec.nodes.items():
            track_ns: int | None = None
            report_ns: int | None = None
            for event in node.picture.events.values():
                for (originator, trk_id), c in event.contributions.items():
                    if rec.launch_of(trk_id) != launch:
                        continue
                    track_ns = _earliest(track_ns, c.first_received_ns)
                    report_ns = _earliest(report_ns, c.launch_received_ns)
                    if originator == party:
                        first_anywhere = _earliest(first_anywhere, c.first_received_ns)
                        issued_anywhere = _earliest(issued_anywhere, c.launch_received_ns)
            firsts[party] = {
                "first_track_s": _after_launch(track_ns, epoch_ns, launch_s),
                "first_launch_report_s": _after_launch(report_ns, epoch_ns, launch_s),
            }
        anywhere = _after_launch(first_anywhere, epoch_ns, launch_s)
        issued = _after_launch(issued_anywhere, epoch_ns, launch_s)
        for seen in firsts.values():
            report = seen["first_launch_report_s"]
            seen["delay_after_first_track_s"] = (
                None if report is None or anywhere is None else report - anywhere
            )
            seen["delay_after_first_issued_s"] = (
                None if report is None or issued is None else report - issued
            )
        out[launch] = {"first_track_anywhere_s": anywhere, "parties": firsts}
    return out


def _ipp_figures(rec: _Recorder) -> dict[str, dict[str, Any]]:
    """Per originator: errors at each time after burnout, and coverage of every IPP."""
    epoch_ns = rec.scenario.epoch_utc_ns
    out: dict[str, dict[str, Any]] = {}
    for ipp in rec.ipps:
        truth = rec.trajectories[ipp.launch]
        mine = out.setdefault(ipp.originator, {"inside": [], "mahalanobis2": [], "at": {}})
        distance2 = ellipse_distance2(
            truth.impact_lat_deg,
            truth.impact_lon_deg,
            ipp.prediction.impact_lat,
            ipp.prediction.impact_lon,
            ipp.prediction.impact_aou,
        )
        mine["inside"].append(distance2 <= 1.0)
        mine["mahalanobis2"].append(CHI2_2_95 * distance2)
    for originator, mine in out.items():
        for after in AFTER_BURNOUT_S:
            errors_km: list[float] = []
            time_errors_s: list[float] = []
            missing = 0
            for launch, truth in rec.trajectories.items():
                at_s = truth.launch_time_s + truth.burnout_time_s + after
                if at_s > truth.launch_time_s + truth.impact_time_s:
                    continue
                latest = [
                    i
                    for i in rec.ipps
                    if i.originator == originator and i.launch == launch and i.second <= at_s
                ]
                if not latest:
                    missing += 1
                    continue
                p = latest[-1].prediction
                errors_km.append(
                    float(
                        surface_distance_m(
                            p.impact_lat, p.impact_lon, truth.impact_lat_deg, truth.impact_lon_deg
                        )
                    )
                    / 1000.0
                )
                truth_ns = epoch_ns + round((truth.launch_time_s + truth.impact_time_s) * NS_PER_S)
                time_errors_s.append((p.impact_time - truth_ns) / NS_PER_S)
            mine["at"][f"{after:.0f}"] = {
                "errors_km": errors_km,
                "time_errors_s": time_errors_s,
                "missing": missing,
            }
    return out


def _launch_points(rec: _Recorder) -> dict[str, dict[str, list[float]]]:
    """Per originator: launch point (km) and launch time (s) errors, one per missile.

    For each missile, the originator's tightest launch report (smallest stated ellipse)
    among its tracks of it: a track re-acquired after a deletion backtracks its own, much
    coarser one, which says so and does not replace what the first track found.
    """
    epoch_ns = rec.scenario.epoch_utc_ns
    best: dict[tuple[str, str], LaunchReport] = {}
    for party, node in rec.nodes.items():
        for event in node.picture.events.values():
            for (originator, trk_id), c in event.contributions.items():
                launch = rec.launch_of(trk_id)
                if originator != party or c.launch is None or launch is None:
                    continue
                held = best.get((originator, launch))
                if held is None or c.launch.launch_aou.semi_major_m < held.launch_aou.semi_major_m:
                    best[(originator, launch)] = c.launch
    out: dict[str, dict[str, list[float]]] = {}
    for (originator, launch), report in sorted(best.items()):
        spec = rec.trajectories[launch].spec
        error_m = surface_distance_m(
            report.launch_lat, report.launch_lon, spec.site_lat_deg, spec.site_lon_deg
        )
        truth_ns = epoch_ns + round(spec.launch_offset_s * NS_PER_S)
        mine = out.setdefault(originator, {"errors_km": [], "time_errors_s": []})
        mine["errors_km"].append(float(error_m) / 1000.0)
        mine["time_errors_s"].append((report.launch_time - truth_ns) / NS_PER_S)
    return out


def run_once(scenario_path: Path, seed: int) -> dict[str, Any]:
    """One scenario, one seed, through the demo: raw figures (lists, for pooling)."""
    scenario = load_scenario(scenario_path)
    recorder = _Recorder(scenario, simulate_scenario(scenario))
    summary = asyncio.run(run_demo(scenario_path=scenario_path, seed=seed, observe=recorder))
    return {
        "seed": seed,
        "leaks": summary["leaks"],
        "launch_reports": _launch_reports(recorder),
        "ipp": _ipp_figures(recorder),
        "launch_points": _launch_points(recorder),
        "gospa": recorder.gospa,
        "holders": recorder.holders,
    }


def _pool(runs: Sequence[dict[str, Any]], scenario: Scenario) -> dict[str, Any]:
    """Figures of one scenario pooled over its runs (seeds x launches)."""
    trajectories = simulate_scenario(scenario)
    parties = sorted(
        {p for r in runs for seen in r["launch_reports"].values() for p in seen["parties"]}
    )
    first_reports: dict[str, Any] = {}
    for party in parties:
        values = [
            seen["parties"][party]
            for r in runs
            for seen in r["launch_reports"].values()
            if party in seen["parties"]
        ]
        reports = [v["first_launch_report_s"] for v in values]
        delays = [v["delay_after_first_track_s"] for v in values]
        sharing = [v["delay_after_first_issued_s"] for v in values]
        first_reports[party] = {
            "first_launch_report_s": error_stats([x for x in reports if x is not None]),
            "never": sum(1 for x in reports if x is None),
            "delay_after_first_track_s": error_stats([x for x in delays if x is not None]),
            "delay_after_first_issued_s": error_stats([x for x in sharing if x is not None]),
        }
    anywhere = [
        seen["first_track_anywhere_s"]
        for r in runs
        for seen in r["launch_reports"].values()
        if seen["first_track_anywhere_s"] is not None
    ]
    originators = sorted(
        {o for r in runs for o in r["ipp"]} | {o for r in runs for o in r["launch_points"]}
    )
    by_originator: dict[str, Any] = {}
    for o in originators:
        ipps = [r["ipp"][o] for r in runs if o in r["ipp"]]
        lps = [r["launch_points"][o] for r in runs if o in r["launch_points"]]
        by_originator[o] = {
            "ipp_after_burnout": {
                after: {
                    "error_km": error_stats([e for i in ipps for e in i["at"][after]["errors_km"]]),
                    "impact_time_error_s": error_stats(
                        [e for i in ipps for e in i["at"][after]["time_errors_s"]]
                    ),
                    "missing": sum(i["at"][after]["missing"] for i in ipps),
                }
                for after in (f"{a:.0f}" for a in AFTER_BURNOUT_S)
            },
            "coverage_95": fraction([f for i in ipps for f in i["inside"]]),
            "impact_predictions": sum(len(i["inside"]) for i in ipps),
            "ellipse_mahalanobis2_mean": error_stats([m for i in ipps for m in i["mahalanobis2"]])[
                "mean"
            ],
            "launch_point_error_km": error_stats([e for lp in lps for e in lp["errors_km"]]),
            "launch_time_error_s": error_stats([e for lp in lps for e in lp["time_errors_s"]]),
        }
    all_inside = [f for r in runs for i in r["ipp"].values() for f in i["inside"]]
    pictures: dict[str, Any] = {}
    for party in sorted({p for r in runs for p in r["gospa"]}):
        samples = [s for r in runs for s in r["gospa"].get(party, [])]
        holders = [h for r in runs for h in r["holders"].get(party, [])]
        pictures[party] = {
            "gospa_m": error_stats([s["total"] for s in samples]),
            "mean_missed": float(np.mean([s["missed"] for s in samples])) if samples else None,
            "mean_false": float(np.mean([s["false"] for s in samples])) if samples else None,
            "dual_track_rate": dual_track_rate(holders),
            "truth_samples": len(holders),
        }
    return {
        "scenario": scenario.name,
        "launches": len(scenario.launches),
        "irbm": all(
            classify_range(t.range_m / 1000.0) is RangeClass.IRBM for t in trajectories.values()
        ),
        "seeds": [r["seed"] for r in runs],
        "leaks": sum(r["leaks"] for r in runs),
        "first_track_anywhere_s": error_stats(anywhere),
        "first_launch_report": first_reports,
        "by_originator": by_originator,
        "coverage_95_all": fraction(all_inside),
        "pictures": pictures,
        "gospa_cutoff_m": DEFAULT_CUTOFF_M,
    }


def _reference(scenario: Scenario, seeds: Sequence[int]) -> dict[str, Any]:
    """Stone Soup vs warnlink on the first launch, every seed, pooled."""
    trajectory = simulate_scenario(scenario)[scenario.launches[0].id]
    runs = [compare_trackers(scenario, trajectory, seed) for seed in seeds]
    runs = [r for r in runs if r.get("party") is not None]
    if not runs:
        return {"party": None}
    out: dict[str, Any] = {"party": runs[0]["party"], "plots": sum(r["plots"] for r in runs)}
    for name in ("warnlink", "stonesoup"):
        if any(not isinstance(r.get(name), dict) for r in runs):
            out[name] = "not installed"
            continue
        updates = sum(r[name]["updates"] for r in runs)
        seconds = sum(r[name]["seconds"] for r in runs)
        squares = sum(r[name]["rmse_m"] ** 2 * r[name]["updates"] for r in runs)
        out[name] = {
            "updates": updates,
            "updates_per_s": updates / seconds if seconds > 0 else None,
            "rmse_m": math.sqrt(squares / updates) if updates else None,
        }
    if isinstance(out.get("stonesoup"), dict):
        out["throughput_ratio"] = (
            out["warnlink"]["updates_per_s"] / out["stonesoup"]["updates_per_s"]
        )
    return out


def run_accuracy(scenarios: Sequence[Path], seeds: Sequence[int]) -> dict[str, Any]:
    """Run every scenario over every seed; pooled figures and target verdicts (JSON-able)."""
    begin = time.perf_counter()
    results = []
    for path in scenarios:
        scenario = load_scenario(path)
        runs = [run_once(path, seed) for seed in seeds]
        pooled = _pool(runs, scenario)
        pooled["file"] = str(path)
        pooled["reference"] = _reference(scenario, seeds)
        results.append(pooled)
    result: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
        },
        "seeds": list(seeds),
        "stonesoup": stonesoup_version() or "not installed",
        "scenarios": results,
    }
    result["targets"] = judge(result)
    result["runtime_s"] = time.perf_counter() - begin
    return result
