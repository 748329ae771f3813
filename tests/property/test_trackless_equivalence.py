"""The incremental trackless assignment groups exactly as the full one did.

`_Full` is the picture with the trackless assignment as it was before the index
(`fusion.trackless`): every trackless contribution of the originator against every
eligible event (`Event.match_cost` per pair) on every report, then one assignment. The only
change kept here is how an exact tie is broken: each connected component of the finite
costs is solved alone (`_by_component`), and at every call its summed cost is checked
equal to that of one solve of the whole matrix, so the two are optimal alike. Random
salvos from nearby launch sites onto clustered aim points (launch-only ambiguities,
predictions that start wrong and swap), several trackless originators, tracks that come
later, losses, repeats and an exercise missile are applied to both, report by report, and
the events (ids, contributions, merges and splits) must be the same after each.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from warnlink.benchmarks.e2e import track_report
from warnlink.fusion.event import LAUNCH_ONLY_COST
from warnlink.fusion.picture import Picture
from warnlink.model import (
    Envelope,
    EventStatus,
    ImpactPrediction,
    LaunchReport,
    SecurityLabel,
    Status,
    new_envelope,
)
from warnlink.model.payloads import Ellipse, RangeClass
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S

NO_MATCH = 1e12
T0 = 1_700_000_000 * NS_PER_S
PARTIES = ("ROK", "JPN", "USA")
LABEL = SecurityLabel("UNCLASSIFIED", PARTIES)
#: Ties the whole-matrix solve broke otherwise than the components (same summed cost).
TIES: Counter[str] = Counter()


def _by_component(costs: np.ndarray) -> list[tuple[int, int]]:
    """Assignment of each connected component of finite costs, solved alone."""
    finite = costs < NO_MATCH
    rows, cols = costs.shape
    graph = csr_matrix(
        np.block([[np.zeros((rows, rows)), finite], [finite.T, np.zeros((cols, cols))]])
    )
    _, labels = connected_components(graph, directed=False)
    pairs: list[tuple[int, int]] = []
    for label in np.unique(labels[:rows]):
        r = np.flatnonzero(labels[:rows] == label)
        c = np.flatnonzero(labels[rows:] == label)
        if not c.size:
            continue
        sub = costs[np.ix_(r, c)]
        for i, j in zip(*linear_sum_assignment(sub), strict=True):
            if sub[i, j] < NO_MATCH:
                pairs.append((int(r[i]), int(c[j])))
    whole = [
        (int(i), int(j))
        for i, j in zip(*linear_sum_assignment(costs), strict=True)
        if costs[i, j] < NO_MATCH
    ]
    assert len(pairs) == len(whole)
    ours, theirs = (sum(costs[i, j] for i, j in p) for p in (pairs, whole))
    assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-6)
    TIES["differs"] += sorted(pairs) != sorted(whole)
    TIES["calls"] += 1
    return pairs


class _Full(Picture):
    """The picture with the whole-matrix trackless assignment (ties: `_by_component`)."""

    def _assign_trackless(self, originator: str) -> None:
        moving = {
            k
            for k in self._index.keys_of.get(originator, ())
            if self._contribution_of(k).track is None
        }
        columns = [
            e
            for e in self.events.values()
            if any(k not in moving for k in e.contributions)
            and not any(k[0] == originator for k in e.contributions if k not in moving)
        ]
        rows = sorted(moving)
        if not rows:
            return
        costs = np.full((len(rows), max(len(columns), 1)), NO_MATCH)
        for i, key in enumerate(rows):
            contribution = self._contribution_of(key)
            for j, event in enumerate(columns):
                cost = event.match_cost(contribution, skip=moving)
                if cost is not None:
                    costs[i, j] = cost
            finite = costs[i] < NO_MATCH
            if finite.sum() > 1 and costs[i][finite].min() >= LAUNCH_ONLY_COST:
                costs[i] = NO_MATCH
        target = dict.fromkeys(rows)
        for row, col in _by_component(costs):
            target[rows[row]] = columns[col]
        for key in rows:
            self._move(key, target[key], moving)


def _state(picture: Picture) -> list[object]:
    return [
        (i, list(e.contributions), list(e.merged_from), list(e.split_off))
        for i, e in picture.events.items()
    ]


class _Salvo:
    """Random reports of a salvo, as one party's node receives them."""

    def __init__(self, seed: int, missiles: int) -> None:
        self.rng = np.random.default_rng(seed)
        rng = self.rng
        sites = [(39.0 + rng.uniform(-0.6, 0.6), 125.8 + rng.uniform(-0.6, 0.6)) for _ in range(3)]
        aims = [(36.0 + rng.uniform(-1.5, 1.5), 128.5 + rng.uniform(-1.5, 1.5)) for _ in range(4)]
        self.launch = []
        self.aim = []
        for _ in range(missiles):
            lat, lon = sites[rng.integers(len(sites))]
            self.launch.append(
                (lat + rng.normal(0, 0.05), lon + rng.normal(0, 0.05), rng.uniform(0, 90))
            )
            lat, lon = aims[rng.integers(len(aims))]
            self.aim.append(
                (lat + rng.normal(0, 0.2), lon + rng.normal(0, 0.2), rng.uniform(550, 650))
            )
        #: How each party knows each missile: "track", "bare" (launch, impact only), or not.
        self.kind = {
            (p, m): rng.choice(["track", "bare", "bare", "none"], p=[0.3, 0.25, 0.25, 0.2])
            for p in PARTIES
            for m in range(missiles)
        }
        self.trk = {
            (p, m): int(n) for p in PARTIES for m, n in enumerate(rng.permutation(missiles) + 1)
        }
        self.mode = [
            DataMode.EXERCISE if m == missiles - 1 else DataMode.REAL for m in range(missiles)
        ]
        self.seq = dict.fromkeys(PARTIES, 0)
        self.sent: list[Envelope] = []

    def next(self, t_s: float) -> Envelope:
        rng = self.rng
        if self.sent and rng.random() < 0.03:
            return self.sent[int(rng.integers(len(self.sent)))]  # a repeat
        while True:
            party = PARTIES[int(rng.integers(3))]
            m = int(rng.integers(len(self.launch)))
            if self.kind[party, m] != "none":
                break
        if self.kind[party, m] == "bare" and rng.random() < 0.005:
            self.kind[party, m] = "track"  # it starts tracking what it only reported
        trk, epoch = self.trk[party, m], T0 + round(t_s * NS_PER_S)
        roll = rng.random()
        payload: object
        if roll < 0.15:
            lat, lon, at_s = self.launch[m]
            spread = rng.uniform(0.02, 0.6)
            payload = LaunchReport(
                trk_id=trk,
                launch_time=T0 + round((at_s + rng.normal(0, 10 * spread)) * NS_PER_S),
                launch_time_sigma_s=2.0,
                launch_lat=lat + rng.normal(0, spread),
                launch_lon=lon + rng.normal(0, spread),
                launch_aou=Ellipse(5_000.0, 3_000.0, 80.0),
                range_class=RangeClass.SRBM,
                sensor=f"{party}-IR",
            )
        elif roll < 0.6 or self.kind[party, m] == "bare":
            lat, lon, at_s = self.aim[m]
            spread = max(0.02, 0.8 * np.exp(-t_s / 200.0)) * rng.uniform(0.3, 1.5)
            payload = ImpactPrediction(
                trk_id=trk,
                epoch=epoch,
                impact_time=T0 + round((at_s + rng.normal(0, 60 * spread)) * NS_PER_S),
                impact_time_sigma_s=float(rng.uniform(1, 20)),
                impact_lat=lat + rng.normal(0, spread),
                impact_lon=lon + rng.normal(0, spread),
                impact_aou=Ellipse(float(rng.uniform(2e3, 6e4)), 2_000.0, 75.0),
            )
        elif roll < 0.62:
            payload = EventStatus(trk_id=trk, epoch=epoch, status=Status.LOST)
        else:
            east = 20_000.0 * m + (40_000.0 if rng.random() < 0.02 else 0.0)
            payload = track_report(trk, epoch, offset_m=east, flown_s=t_s, pos_sigma_m=300.0)
        self.seq[party] += 1
        envelope = new_envelope(
            originator=party,
            seq=self.seq[party],
            created=epoch,
            label=LABEL,
            payload=payload,  # type: ignore[arg-type]
            data_mode=self.mode[m],
        )
        self.sent.append(envelope)
        return envelope


@pytest.mark.parametrize("seed", range(6))
def test_incremental_trackless_assignment_groups_as_the_full_one(seed: int) -> None:
    salvo = _Salvo(seed, missiles=14 + 2 * seed)
    full, incremental = _Full("ROK"), Picture("ROK")
    moved = 0
    for n in range(700):
        envelope = salvo.next(0.4 * n)
        assert full.apply(envelope, envelope.created) == incremental.apply(
            envelope, envelope.created
        )
        assert _state(incremental) == _state(full), f"after report {n}"
        moved = max(moved, sum(len(e.split_off) for e in full.events.values()))
    assert moved  # trackless contributions did move (swaps, waits, splits)
