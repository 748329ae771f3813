"""What the trackless assignment needs, kept as events change, so a report re-solves only
what it can change.

`Picture._assign_trackless` assigns an originator's contributions without a track (rows)
to the events that hold a contribution it does not move (an anchor) and none of the
originator's own anchors (columns), at least summed `Event.match_cost`. A cost is finite
only where a launch or an impact gate passes between the row and one of the column's
anchors (`association`), so the finite costs form a sparse bipartite graph whose connected
components are separate problems: the optimum of the whole is the union of theirs. An
event's cost is the least of its anchors' pair costs (`event.pair_cost`). Per originator
this index keeps the pair costs whose gates pass, the graph's costs, each component and
each row's target, and on a solve recomputes only:

- the pair costs of rows and anchors whose launch report or impact prediction changed,
  against the contributions near them (`_Grid`); a track report alone changes none;
- the costs of the columns those pairs are in, and of events that gained or lost a
  contribution or changed mode, from the kept pair costs;
- the assignment of each component those touch, before or after the change: scipy's
  `linear_sum_assignment` over the component's rows by key and columns by creation (the
  order of the whole matrix, restricted to it).

A row whose event changed since the last solve (a merge or a split moved it) is checked
against its target too. Where two assignments have exactly the same summed cost, the one
taken is that of the component alone, not of the whole matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import product
from typing import TYPE_CHECKING, Final, cast

import numpy as np
from scipy.optimize import linear_sum_assignment

from warnlink.fusion.association import IMPACT_GATE_M, LAUNCH_GATE_M
from warnlink.fusion.event import LAUNCH_ONLY_COST, pair_cost
from warnlink.geo.wgs84 import MEAN_RADIUS_M

if TYPE_CHECKING:
    from collections.abc import Iterator

    from warnlink.fusion.event import Contribution, ContributionKey, Event

NO_MATCH: Final = 1e12
_UNKNOWN: Final = object()
_NEIGHBOURS: Final = tuple(product((-1, 0, 1), repeat=3))


class _Grid:
    """Points on the unit sphere in cubic cells no smaller than a gate's chord.

    Two points within `gate_m` of each other on the sphere of `MEAN_RADIUS_M` (the
    haversine of `association`) are a chord of at most gate_m / R apart, so each
    coordinate differs by at most one cell: the 27 cells around a point hold all its
    neighbours within the gate (and some beyond, which the gate itself then refuses).
    """

    def __init__(self, gate_m: float) -> None:
        self._size = gate_m / MEAN_RADIUS_M * 1.001  # a margin for rounding
        self._cells: dict[tuple[int, int, int], set[ContributionKey]] = {}
        self._where: dict[ContributionKey, tuple[int, int, int]] = {}

    def _cell(self, lat_deg: float, lon_deg: float) -> tuple[int, int, int]:
        lat, lon = math.radians(lat_deg), math.radians(lon_deg)
        x, y, z = math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)
        return math.floor(x / self._size), math.floor(y / self._size), math.floor(z / self._size)

    def put(self, key: ContributionKey, lat_deg: float, lon_deg: float) -> None:
        cell = self._cell(lat_deg, lon_deg)
        old = self._where.get(key)
        if old == cell:
            return
        if old is not None:
            self._cells[old].discard(key)
        self._cells.setdefault(cell, set()).add(key)
        self._where[key] = cell

    def near(self, lat_deg: float, lon_deg: float) -> Iterator[ContributionKey]:
        """Keys in the 27 cells around the point: every one within the gate, and others."""
        x, y, z = self._cell(lat_deg, lon_deg)
        for dx, dy, dz in _NEIGHBOURS:
            yield from self._cells.get((x + dx, y + dy, z + dz), ())


@dataclass
class _Solved:
    """One originator's graph, as of its last solve."""

    #: Events changed (trackless signature) or gone since the last solve.
    pending: set[str] = field(default_factory=set)
    row_sig: dict[ContributionKey, tuple[object, ...]] = field(default_factory=dict)
    col_sig: dict[str, object] = field(default_factory=dict)
    anchor_sig: dict[ContributionKey, tuple[object, ...]] = field(default_factory=dict)
    #: Pair costs (`event.pair_cost`) of rows and anchors whose gates pass, both ways.
    pairs: dict[ContributionKey, dict[ContributionKey, float]] = field(default_factory=dict)
    pairs_of: dict[ContributionKey, dict[ContributionKey, float]] = field(default_factory=dict)
    #: Finite costs by row and by column, before a row's launch-only ambiguity is blanked.
    edges: dict[ContributionKey, dict[str, float]] = field(default_factory=dict)
    cols: dict[str, dict[ContributionKey, float]] = field(default_factory=dict)
    #: Rows that several launches fit and no impact: they wait, in no component.
    blank: set[ContributionKey] = field(default_factory=set)
    component: dict[object, frozenset[object]] = field(default_factory=dict)
    target: dict[ContributionKey, str | None] = field(default_factory=dict)


class TracklessIndex:
    """Rows by originator, points on grids, and each originator's solved graph.

    Args:
        events: the picture's events (by id, in creation order).
        event_of: the event id of each contribution key.
        serial: the creation number of each event.
    """

    def __init__(
        self,
        events: dict[str, Event],
        event_of: dict[ContributionKey, str],
        serial: dict[str, int],
    ) -> None:
        self._events = events
        self._event_of = event_of
        self._serial = serial
        #: Each originator's contributions without a track.
        self.rows: dict[str, set[ContributionKey]] = {}
        self._impacts = _Grid(IMPACT_GATE_M)
        self._launches = _Grid(LAUNCH_GATE_M)
        self._sig: dict[str, tuple[object, ...]] = {}
        self._solved: dict[str, _Solved] = {}

    def refresh(self, event: Event) -> None:
        """Record that `event` was created or changed; nothing if what a trackless cost or
        a move reads of it (keys, launches, impacts, which have a track, modes) is as was."""
        sig = tuple(
            (k, c.launch, c.impact, c.track is None, c.data_mode)
            for k, c in event.contributions.items()
        )
        if self._sig.get(event.event_id) == sig:
            return
        self._sig[event.event_id] = sig
        for key, contribution in event.contributions.items():
            if contribution.impact is not None:
                p = contribution.impact
                self._impacts.put(key, p.impact_lat, p.impact_lon)
            if contribution.launch is not None:
                q = contribution.launch
                self._launches.put(key, q.launch_lat, q.launch_lon)
            rows = self.rows.setdefault(key[0], set())
            if contribution.track is None:
                rows.add(key)
            else:
                rows.discard(key)
        for solved in self._solved.values():
            solved.pending.add(event.event_id)

    def forget(self, event_id: str) -> None:
        """Record that the event is gone (merged or moved away)."""
        self._sig.pop(event_id, None)
        for solved in self._solved.values():
            solved.pending.add(event_id)

    def solve(self, originator: str) -> list[tuple[ContributionKey, Event | None]]:
        """The originator's rows that may have to move, by key, each with its target
        (None: alone), as a solve of the whole matrix would give them."""
        rows = self.rows.get(originator, set())
        solved = self._solved.get(originator)
        if solved is None:
            solved = self._solved[originator] = _Solved()
            changed_rows, displaced = set(rows), set(rows)
        else:
            changed_rows, displaced = set(), set()
        changed_cols: set[str] = set()
        removed: set[ContributionKey] = set()
        for event_id in solved.pending:
            event = self._events.get(event_id)
            if event is None:
                changed_cols.add(event_id)
                continue
            for key, contribution in event.contributions.items():
                if key in rows:
                    displaced.add(key)
                    if solved.row_sig.get(key) != _row_sig(contribution):
                        changed_rows.add(key)
                elif key[0] == originator:
                    if key in solved.row_sig:
                        removed.add(key)
                elif solved.anchor_sig.get(key, _UNKNOWN) != _anchor_sig(contribution):
                    self._pair_anchor(solved, key, contribution, rows)
            if solved.col_sig.get(event_id, _UNKNOWN) != _col_sig(event, originator, rows):
                changed_cols.add(event_id)
        solved.pending = set()
        seeds: set[object] = {*changed_rows, *removed, *changed_cols}
        stale: dict[str, set[ContributionKey]] = {}
        for key in removed:
            for event_id in solved.edges.get(key, {}):
                stale.setdefault(event_id, set()).add(key)
            for anchor in solved.pairs.pop(key, {}):
                del solved.pairs_of[anchor][key]
            del solved.row_sig[key]
            solved.target.pop(key, None)
            solved.blank.discard(key)
        for key in changed_rows:
            for event_id in solved.edges.get(key, {}):
                stale.setdefault(event_id, set()).add(key)
            contribution = self._contribution(key)
            solved.row_sig[key] = _row_sig(contribution)
            for anchor in solved.pairs.pop(key, {}):
                del solved.pairs_of[anchor][key]
            for anchor in self._near(contribution):
                if anchor[0] != originator:
                    self._pair(solved, key, contribution, anchor, self._contribution(anchor))
            for anchor in solved.pairs.get(key, {}):
                stale.setdefault(self._event_of[anchor], set()).add(key)
        for event_id in changed_cols:
            keys = stale.setdefault(event_id, set())
            keys.update(solved.cols.get(event_id, {}))
            event = self._events.get(event_id)
            if event is None:
                solved.col_sig.pop(event_id, None)
                continue
            solved.col_sig[event_id] = _col_sig(event, originator, rows)
            for anchor in event.contributions:
                keys.update(solved.pairs_of.get(anchor, {}))
        touched = set(changed_rows)
        for event_id, keys in stale.items():
            touched.update(keys)
            self._aggregate(solved, keys, event_id, originator, rows)
        for key in touched & rows:
            edges = solved.edges.get(key, {})
            if len(edges) > 1 and min(edges.values()) >= LAUNCH_ONLY_COST:
                solved.blank.add(key)  # several launches fit: wait for an impact prediction
            else:
                solved.blank.discard(key)
        seeds.update(touched)
        return self._resolve(solved, seeds, rows, displaced)

    def _resolve(
        self,
        solved: _Solved,
        seeds: set[object],
        rows: set[ContributionKey],
        displaced: set[ContributionKey],
    ) -> list[tuple[ContributionKey, Event | None]]:
        """Solve every component the seeds were or are in; the rows that may move."""
        for node in list(seeds):
            seeds.update(solved.component.pop(node, ()))
        for node in seeds:
            solved.component.pop(node, None)
        candidates = {k for k in displaced if k in rows}
        done: set[object] = set()
        for seed in seeds:
            if seed in done:
                continue
            members = self._component(solved, seed)
            done.update(members)
            component_rows = sorted(k for k in members if not isinstance(k, str) and k in rows)
            candidates.update(component_rows)
            if len(members) > 1:
                frozen = frozenset(members)
                solved.component.update(dict.fromkeys(members, frozen))
            for key in component_rows:
                solved.target[key] = None
            live = (e for e in members if isinstance(e, str) and e in self._events)
            columns = sorted(live, key=self._serial.__getitem__)
            if component_rows and columns:
                self._assign(solved, component_rows, columns)
        return [
            (key, None if (t := solved.target[key]) is None else self._events[t])
            for key in sorted(candidates)
        ]

    def _assign(self, solved: _Solved, rows: list[ContributionKey], columns: list[str]) -> None:
        costs = np.full((len(rows), len(columns)), NO_MATCH)
        place = {event_id: j for j, event_id in enumerate(columns)}
        for i, key in enumerate(rows):
            for event_id, cost in solved.edges[key].items():
                costs[i, place[event_id]] = cost
        for row, col in zip(*linear_sum_assignment(costs), strict=True):
            if costs[row, col] < NO_MATCH:
                solved.target[rows[int(row)]] = columns[int(col)]

    def _component(self, solved: _Solved, start: object) -> set[object]:
        """The nodes linked to `start` by finite costs (blanked rows link nothing)."""
        members, frontier = {start}, [start]
        while frontier:
            node = frontier.pop()
            if isinstance(node, str):
                links: list[object] = [
                    k for k in solved.cols.get(node, {}) if k not in solved.blank
                ]
            else:
                key = cast("ContributionKey", node)
                links = [] if key in solved.blank else list(solved.edges.get(key, {}))
            for other in links:
                if other not in members:
                    members.add(other)
                    frontier.append(other)
        return members

    def _pair_anchor(
        self,
        solved: _Solved,
        anchor: ContributionKey,
        contribution: Contribution,
        rows: set[ContributionKey],
    ) -> None:
        """Pair costs of an anchor whose launch or impact changed, with the rows near it."""
        solved.anchor_sig[anchor] = _anchor_sig(contribution)
        for key in solved.pairs_of.pop(anchor, {}):
            del solved.pairs[key][anchor]
        for key in rows.intersection(self._near(contribution)):
            self._pair(solved, key, self._contribution(key), anchor, contribution)

    def _pair(
        self,
        solved: _Solved,
        key: ContributionKey,
        row: Contribution,
        anchor: ContributionKey,
        contribution: Contribution,
    ) -> None:
        """Keep the row's pair cost with one anchor (`pair_cost`), if a gate passes."""
        cost = pair_cost(contribution, row)
        if cost is not None:
            solved.pairs.setdefault(key, {})[anchor] = cost
            solved.pairs_of.setdefault(anchor, {})[key] = cost

    def _aggregate(
        self,
        solved: _Solved,
        keys: set[ContributionKey],
        event_id: str,
        originator: str,
        rows: set[ContributionKey],
    ) -> None:
        """The rows' costs in a column from their pair costs: `Event.match_cost`, the
        least pair cost over the event's anchors (none if no gate passes, or modes differ)."""
        event = self._events.get(event_id)
        column = solved.cols.setdefault(event_id, {})
        live = event is not None and _is_column(event, originator, rows)
        mode = event.data_mode if event is not None else None
        for key in keys:
            cost = None
            if live and key in rows and event is not None:
                row_mode = solved.row_sig[key][2]
                pairs = solved.pairs.get(key, {})
                found = [pairs[k] for k in event.contributions if k in pairs]
                if found and not (mode is not row_mode and mode and row_mode):
                    cost = min(found)
            if cost is None:
                solved.edges.get(key, {}).pop(event_id, None)
                column.pop(key, None)
            else:
                solved.edges.setdefault(key, {})[event_id] = cost
                column[key] = cost
        if not column:
            del solved.cols[event_id]

    def _contribution(self, key: ContributionKey) -> Contribution:
        return self._events[self._event_of[key]].contributions[key]

    def _near(self, contribution: Contribution) -> set[ContributionKey]:
        """Keys whose launch or impact may gate with the contribution's (`_Grid`)."""
        near: set[ContributionKey] = set()
        if contribution.impact is not None:
            p = contribution.impact
            near.update(self._impacts.near(p.impact_lat, p.impact_lon))
        if contribution.launch is not None:
            q = contribution.launch
            near.update(self._launches.near(q.launch_lat, q.launch_lon))
        return near


def _row_sig(contribution: Contribution) -> tuple[object, ...]:
    return contribution.launch, contribution.impact, contribution.data_mode


def _is_column(event: Event, originator: str, rows: set[ContributionKey]) -> bool:
    """Whether the event holds an anchor, and none of the originator's own."""
    anchored = False
    for key in event.contributions:
        if key not in rows:
            if key[0] == originator:
                return False
            anchored = True
    return anchored


def _anchor_sig(contribution: Contribution) -> tuple[object, ...]:
    return contribution.launch, contribution.impact


def _col_sig(event: Event, originator: str, rows: set[ContributionKey]) -> object:
    """What a row's cost in this column reads; None if it is no column for the originator
    (no anchor, or an anchor of the originator's own)."""
    anchors = [(k, c) for k, c in event.contributions.items() if k not in rows]
    if not anchors or any(k[0] == originator for k, _ in anchors):
        return None
    return event.data_mode, tuple((k, c.launch, c.impact) for k, c in anchors)
