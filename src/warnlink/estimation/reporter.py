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
  passed with the track held until then (its last estimate within `lost_after_s` of it);
  flying again when a track reported lost gets a newer estimate (its source came back
  from an outage, or was catching up from older states), at the lost word's event time
  at the earliest, since a picture keeps the latest status by event time.

A national system may send its own launch point and time, and its own impact
prediction, with a record (`model.record.SourceRecord.launch`, `.impact`). Those are
shared *instead of* the derived ones, for that record: the national system works from
everything its sensors saw (IR detections, radar plots this node never sees), while the
node derives from one state at a time. Each is sent when it differs from the last one
sent (the impact prediction at most every `ipp_interval_s`, as a derived one); a record
without them falls back to derivation, so a system that sends them only now and then
is still covered in between. A record that says the track is lost (`lost`) reports it
lost at once.

A covariance that is only positive semi-definite (the sources' checks take it: a
rank-deficient fit) is reported made positive definite (`model.covariance.
positive_definite`: eigenvalues floored at 1 mm, 1 mm/s), since receivers invert it.
Records without a covariance are reported without one (`TrackReport.cov` None), and
the launch point and impact prediction are derived with `UNKNOWN_COVARIANCE` (1 km, 50
m/s 1-sigma per axis): a wide ellipse that says the uncertainty was not given.

Pure: no I/O, no clock reads; time comes in with each call.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Final

import numpy as np

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
from warnlink.model.covariance import pack_covariance, positive_definite, unpack_covariance
from warnlink.model.record import NationalImpact, NationalLaunch, SourceRecord
from warnlink.model.time import NS_PER_S
from warnlink.model.track_estimate import TrackEstimate
from warnlink.physics.kepler import minimum_energy_range_of_state_m

#: Once given, the range class changes only when the range is 5% clear of a boundary.
RANGE_CLASS_HYSTERESIS: Final = 0.05
#: 1-sigma per axis assumed for a record that gives no covariance: position, velocity.
UNKNOWN_SIGMA_M: Final = 1000.0
UNKNOWN_SIGMA_MPS: Final = 50.0
UNKNOWN_COVARIANCE: Final = np.diag([UNKNOWN_SIGMA_M**2] * 3 + [UNKNOWN_SIGMA_MPS**2] * 3)
#: A UTC day in ns: a record reporter counts its estimates' seconds from the day's start.
_DAY_NS: Final = 86_400 * NS_PER_S


def day_start_ns(utc_ns: int) -> int:
    """00:00 UTC of the day of `utc_ns`: the time origin of a record-fed reporter."""
    return utc_ns - utc_ns % _DAY_NS


def estimate_of(record: SourceRecord, epoch_ns: int, track_number: int) -> TrackEstimate:
    """A record as the estimators take it: seconds after `epoch_ns`, a 6x6 covariance
    (`UNKNOWN_COVARIANCE` when the record has none)."""
    time_s = (record.epoch_ns - epoch_ns) / NS_PER_S
    return TrackEstimate(
        time_s=time_s,
        pos_ecef_m=np.array(record.pos_ecef_m, dtype=np.float64),
        vel_ecef_mps=np.array(record.vel_ecef_mps, dtype=np.float64),
        cov=UNKNOWN_COVARIANCE
        if record.cov is None
        else positive_definite(unpack_covariance(record.cov)),
        phase=record.phase.value,
        quality=record.quality,
        sensor=record.sensor or "",
        track_number=track_number,
        party=record.party,
        available_s=time_s,
        ballistic_coefficient_kg_m2=record.ballistic_coefficient_kg_m2,
        ballistic_coefficient_sigma_kg_m2=record.ballistic_coefficient_sigma_kg_m2,
    )


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
    #: Event time of the last LOST status sent (None: none).
    _lost_ns: int | None = None
    _launch_estimate: LaunchEstimate | None = None
    _launch_sensor: str | None = None
    _range_class: RangeClass | None = None
    _national_launch: NationalLaunch | None = None
    _national_impact: NationalImpact | None = None
    _national_sensor: str | None = None

    def _ns(self, t_s: float) -> int:
        return self.epoch_ns + round(t_s * NS_PER_S)

    def on_record(self, record: SourceRecord) -> list[Payload]:
        """The reports one record of a source gives rise to, in the order to send them:
        as `on_estimate`, with the national system's own launch and impact assessments
        shared instead of derived ones when the record carries them (module docstring).
        """
        estimate = estimate_of(record, self.epoch_ns, self.track_number)
        out = self.on_estimate(
            estimate,
            share_cov=record.cov is not None,
            derive_launch=record.launch is None,
            derive_impact=record.impact is None,
        )
        if record.launch is not None and record.launch != self._national_launch:
            self._national_launch = record.launch
            self._national_sensor = record.sensor
            out.extend(self._national_launch_report(record.launch, record.sensor))
        if record.impact is not None and self._impact_due(estimate.time_s, record.impact):
            self._national_impact = record.impact
            out.extend(self._national_impact_prediction(record.impact, estimate))
        if record.lost and self._status is Status.FLYING:
            self._status = Status.LOST
            self._lost_ns = record.epoch_ns
            out.append(
                EventStatus(trk_id=self.track_number, epoch=record.epoch_ns, status=Status.LOST)
            )
        return out

    def _impact_due(self, time_s: float, impact: NationalImpact) -> bool:
        if impact == self._national_impact:
            return False
        return self._last_ipp_s is None or time_s - self._last_ipp_s >= self.ipp_interval_s

    def on_estimate(
        self,
        estimate: TrackEstimate,
        *,
        share_cov: bool = True,
        derive_launch: bool = True,
        derive_impact: bool = True,
    ) -> list[Payload]:
        """The reports one new estimate gives rise to, in the order to send them.

        Args:
            share_cov: the track report carries the estimate's covariance (False:
                the source gave none, and the estimate's is an assumed one).
            derive_launch, derive_impact: derive the launch point and the impact
                prediction from the estimate (False: the source gave its own).
        """
        out: list[Payload] = []
        epoch_ns = self._ns(estimate.time_s)
        if self._status is None:
            self._status = Status.FLYING
            out.append(EventStatus(trk_id=self.track_number, epoch=epoch_ns, status=Status.FLYING))
        elif self._status is Status.LOST and self._newer(estimate.time_s):
            self._status = Status.FLYING
            again_ns = epoch_ns if self._lost_ns is None else max(epoch_ns, self._lost_ns)
            out.append(EventStatus(trk_id=self.track_number, epoch=again_ns, status=Status.FLYING))
        self._last_estimate_s = estimate.time_s
        phase = Phase(estimate.phase)
        cov = pack_covariance(estimate.cov) if share_cov else None
        out.append(self._track_report(estimate, phase, cov))
        if phase is Phase.BOOST:
            if derive_launch and self._estimate_from_boost(estimate):
                out.extend(self._launch_report(self._range_class))
            return out
        due = self._last_ipp_s is None or estimate.time_s - self._last_ipp_s >= self.ipp_interval_s
        if due and derive_impact:
            out.extend(self._impact_prediction(estimate, derive_launch=derive_launch))
        return out

    def _newer(self, time_s: float) -> bool:
        return self._last_estimate_s is None or time_s > self._last_estimate_s

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
        self._lost_ns = deleted_ns
        return [EventStatus(trk_id=self.track_number, epoch=deleted_ns, status=Status.LOST)]

    def _track_report(
        self, estimate: TrackEstimate, phase: Phase, cov: tuple[float, ...] | None
    ) -> TrackReport:
        return TrackReport(
            trk_id=self.track_number,
            epoch=self._ns(estimate.time_s),
            pos=as_vector3(estimate.pos_ecef_m),
            vel=as_vector3(estimate.vel_ecef_mps),
            phase=phase,
            trk_qual=int(estimate.quality),
            cov=cov,
            sensor=estimate.sensor or None,
        )

    def _national_launch_report(self, launch: NationalLaunch, sensor: str | None) -> list[Payload]:
        """The national system's launch point and time as this track's launch report."""
        self._launch = LaunchReport(
            trk_id=self.track_number,
            launch_time=launch.time_ns,
            launch_time_sigma_s=launch.time_sigma_s,
            launch_lat=launch.lat_deg,
            launch_lon=launch.lon_deg,
            launch_aou=launch.aou,
            range_class=self._range_class,
            sensor=sensor,
        )
        return [self._launch]

    def _national_impact_prediction(
        self, impact: NationalImpact, estimate: TrackEstimate
    ) -> list[Payload]:
        """The national system's impact prediction, made from the record's state."""
        self._last_ipp_s = estimate.time_s
        self._impact = ImpactPrediction(
            trk_id=self.track_number,
            epoch=self._ns(estimate.time_s),
            impact_time=impact.time_ns,
            impact_time_sigma_s=impact.time_sigma_s,
            impact_lat=impact.lat_deg,
            impact_lon=impact.lon_deg,
            impact_aou=impact.aou,
        )
        return [self._impact, *self._classify(estimate, impact.lat_deg, impact.lon_deg)]

    def _launch_report(self, range_class: RangeClass | None) -> list[Payload]:
        launch, sensor = self._launch_estimate, self._launch_sensor
        if launch is None:
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
            sensor=sensor or None,
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

    def _impact_prediction(
        self, estimate: TrackEstimate, *, derive_launch: bool = True
    ) -> list[Payload]:
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
        if first and derive_launch and self._launch_estimate is None:
            with contextlib.suppress(PhysicsError):
                self._launch_estimate = backtrack_launch(
                    estimate, impact_lat_deg=ipp.lat_deg, impact_lon_deg=ipp.lon_deg
                )
                self._launch_sensor = estimate.sensor
        return out + self._classify(estimate, ipp.lat_deg, ipp.lon_deg)

    def _classify(
        self, estimate: TrackEstimate, impact_lat_deg: float, impact_lon_deg: float
    ) -> list[Payload]:
        """The launch report again when a new impact point changes the range class: the
        larger of the launch-to-impact range and the state's minimum-energy range."""
        national, derived = self._national_launch, self._launch_estimate
        if national is not None:
            origin = (national.lat_deg, national.lon_deg)
        elif derived is not None:
            origin = (derived.lat_deg, derived.lon_deg)
        else:
            return []
        range_m = surface_distance_m(origin[0], origin[1], impact_lat_deg, impact_lon_deg)
        energy_m = minimum_energy_range_of_state_m(
            as_vector3(estimate.pos_ecef_m), as_vector3(estimate.vel_ecef_mps)
        )
        range_km = max(float(range_m), energy_m) / 1000.0
        low = classify_range(range_km * (1 - RANGE_CLASS_HYSTERESIS))
        high = classify_range(range_km * (1 + RANGE_CLASS_HYSTERESIS))
        range_class = low if self._range_class is None or low is high else self._range_class
        if range_class is self._range_class:
            return []
        self._range_class = range_class
        if national is not None:
            return self._national_launch_report(national, self._national_sensor)
        return self._launch_report(range_class)
