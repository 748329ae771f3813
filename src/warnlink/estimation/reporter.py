"""The national reporter: one track's estimates become the party's reports.

For each estimate of its national tracker, an originator reports:

- a track report, always;
- a launch report with its first boost-phase estimate (launch point and time by
  `estimate_launch`: coarse, with a sigma that says so), again with each further boost
  estimate that gives a smaller sigma (refined), and
  again whenever an impact prediction changes the range class (the larger of the
  range from launch point to predicted impact and the minimum-energy range of the
  state's energy, so a lofted flight is classed by its energy); a track first seen
  after burnout gets its launch
  report at its first impact prediction, from its state propagated backwards to
  the ground (`backtrack_launch`: coarser, and with a wider ellipse that says so);
- an impact prediction (`predict_impact`) on the first ballistic estimate and then
  at most every `ipp_interval_s` of event time;
- an event status: flying with the first report; lost when no estimate came for
  `lost_after_s` (the tracker's coast time: the track was deleted) before the predicted
  impact time, or with no prediction at all; impacted once the predicted impact time has
  passed with the track held until then (its last estimate within `lost_after_s` of it).

Pure: no I/O, no clock reads; time comes in with each call.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Final

from warnlink.errors import PhysicsError
from warnlink.estimation.classify import classify_range
from warnlink.estimation.impact import predict_impact
from warnlink.estimation.launch_point import LaunchEstimate, backtrack_launch, estimate_launch
from warnlink.geo.ellipse import ELLIPSE_95_SCALE
from warnlink.geo.wgs84 import as_vector3, surface_distance_m
from warnlink.model import (
    Ellipse,
    EventStatus,
    ImpactPrediction,
    LaunchReport,
    Payload,
    Phase,
    RangeClass,
    Status,
    TrackReport,
)
from warnlink.model.covariance import pack_covariance
from warnlink.model.time import NS_PER_S
from warnlink.model.track_estimate import TrackEstimate
from warnlink.physics.kepler import minimum_energy_range_of_state_m

#: Once given, the range class changes only when the range is 5% clear of a boundary.
RANGE_CLASS_HYSTERESIS: Final = 0.05


@dataclass
class TrackReporter:
    """Turns one national track's estimates into reports.

    Args:
        track_number: the originator's track number.
        epoch_ns: UTC ns of estimate time 0.
        ipp_interval_s: least event time between two impact predictions.
        lost_after_s: silence after which a track still in flight is reported lost.
    """

    track_number: int
    epoch_ns: int
    ipp_interval_s: float = 5.0
    lost_after_s: float = 60.0
    _launch_from_boost: bool = False
    _launch: LaunchReport | None = None
    _last_ipp_s: float | None = None
    _last_estimate_s: float | None = None
    _impact: ImpactPrediction | None = None
    _status: Status | None = None
    _launch_estimate: LaunchEstimate | None = None
    _launch_sensor: str | None = None
    _range_class: RangeClass | None = None

    def _ns(self, t_s: float) -> int:
        return self.epoch_ns + round(t_s * NS_PER_S)

    def on_estimate(self, estimate: TrackEstimate) -> list[Payload]:
        """The reports one new estimate gives rise to, in the order to send them."""
        out: list[Payload] = []
        if self._status is None:
            self._status = Status.FLYING
            out.append(
                EventStatus(
                    trk_id=self.track_number, epoch=self._ns(estimate.time_s), status=Status.FLYING
                )
            )
        self._last_estimate_s = estimate.time_s
        phase = Phase(estimate.phase)
        out.append(self._track_report(estimate, phase))
        if phase is Phase.BOOST:
            if self._estimate_from_boost(estimate):
                out.extend(self._launch_report(self._range_class))
            return out
        due = self._last_ipp_s is None or estimate.time_s - self._last_ipp_s >= self.ipp_interval_s
        if due:
            out.extend(self._impact_prediction(estimate))
        return out

    def on_time(self, now_ns: int) -> list[Payload]:
        """Status changes that the passing of time alone brings."""
        if self._status is not Status.FLYING or self._last_estimate_s is None:
            return []
        last_ns = self._ns(self._last_estimate_s)
        deleted_ns = last_ns + round(self.lost_after_s * NS_PER_S)
        impact_ns = None if self._impact is None else self._impact.impact_time
        if impact_ns is not None and deleted_ns >= impact_ns:
            if now_ns < impact_ns or last_ns >= now_ns:
                return []
            self._status = Status.IMPACTED
            return [EventStatus(trk_id=self.track_number, epoch=impact_ns, status=Status.IMPACTED)]
        if now_ns < deleted_ns:
            return []
        self._status = Status.LOST
        return [EventStatus(trk_id=self.track_number, epoch=deleted_ns, status=Status.LOST)]

    def _track_report(self, estimate: TrackEstimate, phase: Phase) -> TrackReport:
        return TrackReport(
            trk_id=self.track_number,
            epoch=self._ns(estimate.time_s),
            pos=as_vector3(estimate.pos_ecef_m),
            vel=as_vector3(estimate.vel_ecef_mps),
            phase=phase,
            trk_qual=int(estimate.quality),
            cov=pack_covariance(estimate.cov),
            sensor=estimate.sensor,
        )

    def _launch_report(self, range_class: RangeClass | None) -> list[Payload]:
        launch, sensor = self._launch_estimate, self._launch_sensor
        if launch is None or sensor is None:
            return []
        # A circle's 95 % radius from its 1-sigma radial error in 2-D: sqrt(chi2_2(0.95)).
        radius_m = ELLIPSE_95_SCALE * launch.sigma_m
        self._launch = LaunchReport(
            trk_id=self.track_number,
            launch_time=self._ns(launch.time_s),
            launch_time_sigma_s=launch.time_sigma_s,
            launch_lat=launch.lat_deg,
            launch_lon=launch.lon_deg,
            launch_aou=Ellipse(radius_m, radius_m, 0.0),
            range_class=range_class,
            sensor=sensor,
        )
        return [self._launch]

    def _estimate_from_boost(self, estimate: TrackEstimate) -> bool:
        """Estimate the launch from one more boost estimate; True if it is the best so far.

        The first boost estimate gives a coarse launch point at once (its wide sigma says
        so); each later one that states a smaller sigma replaces it (`estimate_launch`
        picks the smallest over what it is given).
        """
        try:
            candidate = estimate_launch([estimate])
        except PhysicsError:
            return False
        best = self._launch_estimate
        if best is not None and self._launch_from_boost and best.sigma_m <= candidate.sigma_m:
            return False
        self._launch_estimate = candidate
        self._launch_from_boost = True
        self._launch_sensor = estimate.sensor
        return True

    def _impact_prediction(self, estimate: TrackEstimate) -> list[Payload]:
        try:
            ipp = predict_impact(
                estimate.pos_ecef_m,
                estimate.vel_ecef_mps,
                estimate.cov,
                ballistic_coefficient_kg_m2=estimate.ballistic_coefficient_kg_m2,
                ballistic_coefficient_sigma_kg_m2=estimate.ballistic_coefficient_sigma_kg_m2,
            )
        except PhysicsError:
            return []
        self._last_ipp_s = estimate.time_s
        first = self._impact is None
        self._impact = ImpactPrediction(
            trk_id=self.track_number,
            epoch=self._ns(estimate.time_s),
            impact_time=self._ns(estimate.time_s + ipp.time_from_state_s),
            impact_time_sigma_s=ipp.time_sigma_s,
            impact_lat=ipp.lat_deg,
            impact_lon=ipp.lon_deg,
            impact_aou=Ellipse(ipp.semi_major_m, ipp.semi_minor_m, ipp.orientation_deg % 180.0),
        )
        out: list[Payload] = [self._impact]
        if first and self._launch_estimate is None:
            with contextlib.suppress(PhysicsError):
                self._launch_estimate = backtrack_launch(
                    estimate, impact_lat_deg=ipp.lat_deg, impact_lon_deg=ipp.lon_deg
                )
                self._launch_sensor = estimate.sensor
        if self._launch_estimate is not None:
            launch = self._launch_estimate
            range_m = surface_distance_m(launch.lat_deg, launch.lon_deg, ipp.lat_deg, ipp.lon_deg)
            energy_m = minimum_energy_range_of_state_m(
                as_vector3(estimate.pos_ecef_m), as_vector3(estimate.vel_ecef_mps)
            )
            range_km = max(float(range_m), energy_m) / 1000.0
            low = classify_range(range_km * (1 - RANGE_CLASS_HYSTERESIS))
            high = classify_range(range_km * (1 + RANGE_CLASS_HYSTERESIS))
            range_class = low if self._range_class is None or low is high else self._range_class
            if range_class is not self._range_class:
                self._range_class = range_class
                out.extend(self._launch_report(range_class))
        return out
