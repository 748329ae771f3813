"""An event (one missile) and its contributions (each originator's track of it).

A `Contribution` is one originator's track, keyed by (originator, originator's track
number): its latest launch report, track state, impact prediction and status, with the
ids of the messages it came from (provenance). An `Event` groups the contributions of one
missile, fuses their tracks (`Event.fused_state`) and says how well another contribution
fits it (`Event.match_cost`). `picture` builds and regroups them.
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from typing import Final

from warnlink.fusion.association import impacts_match, launches_match, tracks_match
from warnlink.fusion.covariance_intersection import intersect
from warnlink.fusion.gating import MAX_GAP_S, GateState, extrapolate, gate_state, state_of
from warnlink.geo.ellipse import ELLIPSE_95_SCALE
from warnlink.geo.wgs84 import FloatArray, surface_distance_one_m
from warnlink.model import (
    ImpactPrediction,
    LaunchReport,
    SecurityLabel,
    Status,
    TrackReport,
)
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S

ContributionKey = tuple[str, int]
#: Message ids a contribution keeps as provenance: its first and its latest ones.
PROVENANCE_KEPT: Final = 32
#: Cost of a match by launch gates alone: above any impact match that passed its gate.
LAUNCH_ONLY_COST = 1e6


@dataclass
class Contribution:
    """One originator's track of one missile, as this party knows it."""

    originator: str
    trk_id: int
    first_received_ns: int
    launch: LaunchReport | None = None
    launch_received_ns: int | None = None
    track: TrackReport | None = None
    #: The label `track` came with, its originator added (`SecurityLabel.including`).
    track_label: SecurityLabel | None = None
    track_count: int = 0
    impact: ImpactPrediction | None = None
    impact_received_ns: int | None = None
    status: Status = Status.FLYING
    #: Event time of the status message `status` came from (None: none came).
    status_epoch: int | None = None
    #: Provenance: the first message's id, then the latest ones, `PROVENANCE_KEPT` at most.
    msg_ids: list[str] = field(default_factory=list)
    #: Messages applied to this contribution, all of them.
    msg_count: int = 0
    #: Whether its data is real (`DataMode`), from its reports' envelopes.
    data_mode: DataMode | None = None
    #: `track` made ready for the gate (`ready_track`), when first needed.
    _gate: GateState | None = field(default=None, repr=False, compare=False)

    def add_provenance(self, msg_id: str) -> None:
        """Count a message applied to this contribution and keep its id, the first one
        and the latest `PROVENANCE_KEPT` - 1 kept."""
        self.msg_count += 1
        self.msg_ids.append(msg_id)
        if len(self.msg_ids) > PROVENANCE_KEPT:
            del self.msg_ids[1]

    def set_track(self, track: TrackReport) -> None:
        """Take `track` as the latest state."""
        self.track = track
        self._gate = None

    def ready_track(self) -> GateState | None:
        """`track` unpacked for the gate (`gating.gate_state`), once per track."""
        if self._gate is None and self.track is not None:
            self._gate = gate_state(self.track)
        return self._gate


def tightest_launch(contributions: Iterable[Contribution]) -> LaunchReport | None:
    """The tightest launch report (smallest 95 % semi-major axis) among contributions."""
    launches = [c.launch for c in contributions if c.launch is not None]
    return min(launches, key=lambda x: x.launch_aou.semi_major_m) if launches else None


@dataclass(frozen=True, slots=True)
class FusedState:
    """An event's fused track state: epoch (UTC ns), ECEF mean (6,), covariance (6, 6).

    A derived product: its `label` is the meet of its sources' labels (DESIGN.md
    invariant 1), so whatever passes it on can release it no wider than every source.
    """

    epoch: int
    mean: FloatArray
    cov: FloatArray
    originators: tuple[str, ...]
    #: The meet of the fused tracks' labels: who this product may go to, at most.
    label: SecurityLabel


@dataclass
class Event:
    """One missile: the contributions of every originator that tracks it."""

    event_id: str
    contributions: dict[ContributionKey, Contribution] = field(default_factory=dict)
    merged_from: list[str] = field(default_factory=list)
    split_off: list[str] = field(default_factory=list)

    def originators(self) -> set[str]:
        return {originator for originator, _ in self.contributions}

    @property
    def data_mode(self) -> DataMode | None:
        """The data mode of its contributions: an event never mixes modes (`Picture`)."""
        return next((c.data_mode for c in self.contributions.values() if c.data_mode), None)

    def holding_originators(self) -> set[str]:
        """Originators holding this missile: a contribution not reported lost.

        An originator whose track here was lost (its tracker deleted it) may join the
        event again with a later track: that is the missile re-acquired.
        """
        return {c.originator for c in self.contributions.values() if c.status is not Status.LOST}

    def latest_impact(self) -> tuple[ContributionKey, ImpactPrediction] | None:
        """The most recent impact prediction (ties: the smaller ellipse) and its source."""
        candidates = [(k, c.impact) for k, c in self.contributions.items() if c.impact is not None]
        if not candidates:
            return None
        return max(candidates, key=lambda kc: (kc[1].epoch, -kc[1].impact_aou.semi_major_m))

    def latest_track(self) -> TrackReport | None:
        """The most recent track state of any contribution."""
        tracks = [c.track for c in self.contributions.values() if c.track is not None]
        return max(tracks, key=lambda t: t.epoch) if tracks else None

    def fused_state(self, for_party: str | None = None) -> FusedState | None:
        """The contributions' latest tracks fused by covariance intersection.

        Each track is brought to the latest epoch among them (`gating.extrapolate`);
        tracks more than `MAX_GAP_S` older are left out. Computed from what this party
        received, so it never holds more than the party may see. With `for_party`, it
        is computed for that recipient from only the tracks, covariance included, their
        originators released to it; the product's label is the meet of the sources'.
        """
        sources = [
            c
            for c in self.contributions.values()
            if c.track is not None
            and c.track_label is not None
            and (for_party is None or for_party in c.track_label.field_released_to("cov"))
        ]
        if not sources:
            return None
        epoch = max(c.track.epoch for c in sources if c.track is not None)
        means, covs, used, labels = [], [], [], []
        for contribution in sources:
            t = contribution.track
            if t is None or (epoch - t.epoch) / NS_PER_S > MAX_GAP_S:
                continue
            mean, cov = state_of(t)
            mean, cov = extrapolate(mean, cov, (epoch - t.epoch) / NS_PER_S)
            means.append(mean)
            covs.append(cov)
            used.append(contribution.originator)
            labels.append(contribution.track_label)
        mean, cov = intersect(means, covs)
        return FusedState(
            epoch, mean, cov, tuple(sorted(used)), SecurityLabel.meet(lb for lb in labels if lb)
        )

    def match_cost(
        self, other: Contribution, *, skip: Container[ContributionKey] = ()
    ) -> float | None:
        """How well `other` fits this event's missile; None if no gate passes.

        A passed impact gate costs the miss distance over the root-sum-square of the two
        ellipses' semi-major axes (comparable between events); a passed launch gate
        alone costs `LAUNCH_ONLY_COST`, since launches of a salvo from one site pass
        each other's gates. Contributions whose keys are in `skip` are left out.
        """
        mode = self.data_mode
        if mode is not other.data_mode and mode and other.data_mode:
            return None  # exercise data never joins a real missile, nor the other way
        costs = [
            cost
            for key, mine in self.contributions.items()
            if mine is not other
            and key not in skip
            and (cost := pair_cost(mine, other)) is not None
        ]
        return min(costs) if costs else None


def pair_cost(mine: Contribution, other: Contribution) -> float | None:
    """How well `other` fits `mine` (`Event.match_cost` of one pair); None if no gate passes."""
    costs: list[float] = []
    if mine.track and other.track and tracks_match(mine.track, other.track):
        costs.append(0.0)
    if mine.impact and other.impact and impacts_match(mine.impact, other.impact):
        costs.append(_impact_cost(mine.impact, other.impact))
    if mine.launch and other.launch and launches_match(mine.launch, other.launch):
        costs.append(LAUNCH_ONLY_COST)
    return min(costs) if costs else None


def _impact_cost(a: ImpactPrediction, b: ImpactPrediction) -> float:
    """Normalised distance of two predictions in place and time (about 1 sigma per unit).

    The place term takes each 95 % semi-major axis over sqrt(chi2_2(0.95)) = 2.4477
    (`geo.ellipse.ELLIPSE_95_SCALE`) as a 1-sigma (conservative: the larger axis), the
    time term the stated time sigmas.
    """
    miss_m = surface_distance_one_m(a.impact_lat, a.impact_lon, b.impact_lat, b.impact_lon)
    spread_m = math.hypot(a.impact_aou.semi_major_m, b.impact_aou.semi_major_m) / ELLIPSE_95_SCALE
    late_s = abs(a.impact_time - b.impact_time) / NS_PER_S
    spread_s = math.hypot(a.impact_time_sigma_s or 0.0, b.impact_time_sigma_s or 0.0)
    return math.hypot(miss_m / max(spread_m, 1.0), late_s / max(spread_s, 0.1))
